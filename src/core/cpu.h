/* cpu.h: what the processor is and which vector instructions it and the
 * operating system let us use (cpuid + xgetbv), for the BLAS kernel choice
 * and `nanprobe doctor`.
 *
 * A feature counts only when the OS also saves its registers on a context
 * switch (XCR0): a hypervisor may advertise AVX-512 in cpuid and still not
 * enable the zmm state, and code using it would then fault. */
#ifndef NANPROBE_CPU_H
#define NANPROBE_CPU_H

typedef enum cpu_feature {
    CPU_SSE3,
    CPU_SSSE3,
    CPU_SSE4_1,
    CPU_SSE4_2,
    CPU_AVX,
    CPU_FMA,
    CPU_AVX2,
    CPU_AVX512F,
    CPU_AVX512DQ,
    CPU_AVX512BW,
    CPU_AVX512VL,
    CPU_AVX512_BF16,
    CPU_FEATURE_COUNT
} cpu_feature;

extern const char *const cpu_feature_names[CPU_FEATURE_COUNT];

typedef enum cpu_vendor { CPU_VENDOR_OTHER, CPU_VENDOR_INTEL, CPU_VENDOR_AMD } cpu_vendor;

typedef struct cpu_info {
    cpu_vendor vendor;
    char vendor_id[13];  /* "GenuineIntel", "AuthenticAMD", ... */
    char brand[49];      /* "AMD EPYC 9R14 96-Core Processor", or "" */
    int family, model, stepping; /* display family/model (extended fields folded in) */
    unsigned features;   /* bit (1u << cpu_feature), usable: CPU and OS support */
} cpu_info;

/* Fills info for the CPU this runs on (all zero/empty off x86-64). */
void cpu_detect(cpu_info *info);

static inline int cpu_has(const cpu_info *info, cpu_feature f)
{
    return (info->features >> f) & 1u;
}

/* The usable features as space-separated names ("sse3 ssse3 ... avx512vl"). */
void cpu_features_text(const cpu_info *info, char *out, unsigned long size);

#endif
