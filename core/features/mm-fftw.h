/* mmdigits — internal: FFTW plans for the core (not installed).
 *
 * FFTW's planner keeps global state, so every plan of the core is made and
 * destroyed here (fftw.c), under one lock. A plan comes from the wisdom compiled into
 * fftw.c when it has one for the size, else from FFTW_ESTIMATE: never from
 * timing, so the same size gives the same plan, and the same floats, in every
 * run on one machine.
 */
#pragma once

#include <fftw3.h>

/* A real-to-complex plan of @nfft points over @in (fftwf_malloc'd, nfft
 * floats) into @out (nfft/2+1 complex), FFTW_PRESERVE_INPUT; NULL if FFTW
 * cannot plan it. Destroy with mm_fftw_destroy. Safe from any thread. */
fftwf_plan mm_fftw_plan_r2c (int nfft, float *in, fftwf_complex *out);
/* Its inverse, complex-to-real, unnormalised (a round trip scales by
 * @nfft); FFTW_ESTIMATE, and @in is overwritten when it runs. */
fftwf_plan mm_fftw_plan_c2r (int nfft, fftwf_complex *in, float *out);
void       mm_fftw_destroy  (fftwf_plan plan);   /* NULL is fine */
