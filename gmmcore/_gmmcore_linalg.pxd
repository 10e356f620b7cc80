# One fused wrapper per BLAS routine the kernels use.  Every matrix handed in is
# row-major (C order); BLAS is column-major, so a row-major (m x n) array with leading
# dimension n *is* the column-major (n x m) transpose.  Each wrapper says how it
# turns the row-major formula into the column-major call.
from cython cimport floating
from scipy.linalg.cython_blas cimport strmm, dtrmm, ssyrk, dsyrk

include "_config.pxi"


cdef inline void trmm_right_upper(blas_int m, blas_int n, const floating *u,
                                  floating *b) noexcept nogil:
    """B := B @ U, B row-major (m x n), U row-major upper triangular (n x n).

    Column-major this is Bᵀ := Uᵀ Bᵀ with Uᵀ lower triangular:
    trmm(side='L', uplo='L', transa='N', diag='N', n x m).
    """
    cdef char side = b'L', uplo = b'L', trans = b'N', diag = b'N'
    cdef floating one = 1.0
    cdef blas_int ld = n
    if floating is float:
        strmm(&side, &uplo, &trans, &diag, &n, &m, &one, <float *> u, &ld, b, &ld)
    else:
        dtrmm(&side, &uplo, &trans, &diag, &n, &m, &one, <double *> u, &ld, b, &ld)


cdef inline void syrk_gram(blas_int m, blas_int n, const floating *a,
                           floating *c) noexcept nogil:
    """C := Aᵀ A, A row-major (m x n); only the lower triangle of row-major C is set.

    Column-major A is Aᵀ (n x m), so Aᵀ A = (Aᵀ)(Aᵀ)ᵀ is syrk(trans='N', n, k=m).
    uplo='U' fills the column-major upper triangle, which is row-major C's lower one.
    """
    cdef char uplo = b'U', trans = b'N'
    cdef floating one = 1.0, zero = 0.0
    cdef blas_int lda = n
    if floating is float:
        ssyrk(&uplo, &trans, &n, &m, &one, <float *> a, &lda, &zero, c, &lda)
    else:
        dsyrk(&uplo, &trans, &n, &m, &one, <double *> a, &lda, &zero, c, &lda)
