/* FFTW plans for the core (mm-fftw.h): the MFCC's and the word detector's
 * r2c transforms, from wisdom compiled in, and the detector's c2r, under
 * one planner lock. */
#include "mm-fftw.h"

#include <glib.h>

/* FFTW's planner keeps global state (wisdom, twiddle caches): plan creation
 * and destruction must not run concurrently. Executing a plan is safe. */
static GMutex fftw_planner_lock;

/* FFTW_PATIENT wisdom for r2c transforms of 512, 1024 and 2048 points
 * (FFTW_PRESERVE_INPUT, fftwf_malloc'd arrays), recorded with libfftw3f
 * 3.3.10 on the project's machine (AMD EPYC, AVX). Its plan for 1024 points
 * is ~25 % faster than FFTW_ESTIMATE's. A plan is taken from it only, never
 * measured: measuring picks plans by timing, so two runs (e.g. the CLI's
 * --jobs 1 and --jobs 2) could differ in the last bits. */
static const char fftw_wisdom[] =
  "(fftw-3.3.10 fftwf_wisdom #x9e7d4dee #xdb14fed1 #x34bf76a4 #xeb6e8fdf\n"
  "(fftwf_codelet_hc2cfdftv_8_sse2 0 #x11048 #x11048 #x0 #x3f67885c #x1d118905 #x1b4c027b #x7ecffc87)\n"
  "(fftwf_codelet_n2fv_64_avx 0 #x11048 #x11048 #x0 #x9b151a0c #x184dc547 #xf430fa14 #x84092ef6)\n"
  "(fftwf_codelet_r2cf_8 2 #x11048 #x11048 #x0 #xffbbd2d6 #x1e2662c0 #x80466bbc #x2e3a8851)\n"
  "(fftwf_codelet_t2fv_2_avx 0 #x11048 #x11048 #x0 #x17fbf099 #xff0d04f9 #x27f8a3ed #x01c0ab6a)\n"
  "(fftwf_codelet_t2fv_4_avx 0 #x11048 #x11048 #x0 #xb0bde699 #x3baa1ac0 #xdbbed5b2 #x3b1456c3)\n"
  "(fftwf_dft_vrank_geq1_register 0 #x11048 #x11048 #x0 #x0e4912b7 #xa764a950 #x0309f075 #xbeed026d)\n"
  "(fftwf_codelet_r2cf_8 2 #x11048 #x11048 #x0 #xe75b944c #x09ac1906 #x449b29ce #x7b6666b0)\n"
  "(fftwf_codelet_hc2cfdftv_8_sse2 0 #x11048 #x11048 #x0 #x85773c49 #x9a968ccc #xbd37e819 #xac77e6a4)\n"
  "(fftwf_codelet_r2cf_8 2 #x11048 #x11048 #x0 #xa8e723ad #x5577b756 #x19ace181 #xf0b6f4b2)\n"
  "(fftwf_codelet_r2cfII_8 2 #x11048 #x11048 #x0 #xb6399110 #x4c96f9f0 #xaab72706 #x16fd8170)\n"
  "(fftwf_dft_vrank_geq1_register 0 #x11048 #x11048 #x0 #x1d5f8951 #x83ff8a7f #x97795bcc #x27178c7e)\n"
  "(fftwf_codelet_r2cfII_8 2 #x11048 #x11048 #x0 #x76fa2a50 #xf4668261 #xbf8b003e #xbfa64206)\n"
  "(fftwf_codelet_r2cfII_8 2 #x11048 #x11048 #x0 #x9b71d905 #x7d7faf81 #x09c45860 #x2a522386)\n"
  "(fftwf_codelet_hc2cfdftv_8_sse2 0 #x11048 #x11048 #x0 #xc447d79d #x3bb36c12 #x2e7c8386 #xc241521c)\n"
  "(fftwf_codelet_n2fv_64_avx 0 #x11048 #x11048 #x0 #xdae94766 #xa548e347 #x8a9a261b #xff2066cd)\n"
  "(fftwf_codelet_n2fv_64_avx 0 #x11048 #x11048 #x0 #x03406dff #xc8fa0a2c #x62a9a61e #xa394d874)\n"
  ")\n";

/* The plan from fftw_wisdom when it has one for @nfft (imported every
 * time, in case other code made FFTW forget it), else FFTW_ESTIMATE's.
 * Neither depends on timing: the plan, and so every output bit, depends only
 * on nfft, the FFTW build and the CPU's SIMD (another FFTW version rejects
 * the wisdom as a whole, and a solver the CPU cannot run gives no plan from
 * it: ESTIMATE then). */
fftwf_plan
mm_fftw_plan_r2c (int nfft, float *in, fftwf_complex *out)
{
  fftwf_plan plan = NULL;

  g_mutex_lock (&fftw_planner_lock);
  if (fftwf_import_wisdom_from_string (fftw_wisdom))
    plan = fftwf_plan_dft_r2c_1d (nfft, in, out,
        FFTW_MEASURE | FFTW_WISDOM_ONLY | FFTW_PRESERVE_INPUT);
  if (!plan)
    plan = fftwf_plan_dft_r2c_1d (nfft, in, out,
        FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
  g_mutex_unlock (&fftw_planner_lock);
  return plan;
}

fftwf_plan
mm_fftw_plan_c2r (int nfft, fftwf_complex *in, float *out)
{
  fftwf_plan plan;

  g_mutex_lock (&fftw_planner_lock);
  plan = fftwf_plan_dft_c2r_1d (nfft, in, out, FFTW_ESTIMATE);
  g_mutex_unlock (&fftw_planner_lock);
  return plan;
}

void
mm_fftw_destroy (fftwf_plan plan)
{
  if (!plan)
    return;
  g_mutex_lock (&fftw_planner_lock);
  fftwf_destroy_plan (plan);
  g_mutex_unlock (&fftw_planner_lock);
}
