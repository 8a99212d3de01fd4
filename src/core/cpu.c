/* cpu.c: cpuid and xgetbv decoding (see cpu.h). */
#include "cpu.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CPU_X86 1
#else
#define CPU_X86 0
#endif

const char *const cpu_feature_names[CPU_FEATURE_COUNT] = {
    [CPU_SSE3] = "sse3",         [CPU_SSSE3] = "ssse3",       [CPU_SSE4_1] = "sse4_1",
    [CPU_SSE4_2] = "sse4_2",     [CPU_AVX] = "avx",           [CPU_FMA] = "fma",
    [CPU_AVX2] = "avx2",         [CPU_AVX512F] = "avx512f",   [CPU_AVX512DQ] = "avx512dq",
    [CPU_AVX512BW] = "avx512bw", [CPU_AVX512VL] = "avx512vl", [CPU_AVX512_BF16] = "avx512_bf16",
};
_Static_assert(sizeof cpu_feature_names / sizeof cpu_feature_names[0] == CPU_FEATURE_COUNT,
               "one name per cpu_feature");

#if CPU_X86
/* XCR0: which register states the OS saves.  Bits 1-2 (xmm, ymm) for AVX;
 * 5-7 (opmask, upper zmm halves, zmm16-31) for AVX-512. */
static unsigned long long xcr0_read(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}

static void brand_read(char brand[49])
{
    unsigned regs[12] = {0}, top = __get_cpuid_max(0x80000000u, NULL);
    brand[0] = '\0';
    if (top < 0x80000004u) return;
    for (unsigned i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    memcpy(brand, regs, 48);
    brand[48] = '\0';
    /* Some hypervisors pad the brand with leading spaces. */
    size_t skip = strspn(brand, " ");
    memmove(brand, brand + skip, strlen(brand + skip) + 1);
}

void cpu_detect(cpu_info *info)
{
    memset(info, 0, sizeof *info);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned max_leaf = a;
    memcpy(info->vendor_id, &b, 4);
    memcpy(info->vendor_id + 4, &d, 4);
    memcpy(info->vendor_id + 8, &c, 4);
    info->vendor = strcmp(info->vendor_id, "GenuineIntel") == 0   ? CPU_VENDOR_INTEL
                   : strcmp(info->vendor_id, "AuthenticAMD") == 0 ? CPU_VENDOR_AMD
                                                                   : CPU_VENDOR_OTHER;
    brand_read(info->brand);
    if (max_leaf < 1) return;
    __get_cpuid(1, &a, &b, &c, &d);
    int base_family = (int)((a >> 8) & 0xf), base_model = (int)((a >> 4) & 0xf);
    info->family = base_family == 0xf ? base_family + (int)((a >> 20) & 0xff) : base_family;
    info->model = base_family == 0x6 || base_family == 0xf ? base_model + (int)(((a >> 16) & 0xf) << 4) : base_model;
    info->stepping = (int)(a & 0xf);
    unsigned f = 0;
    f |= (c & 1u) ? 1u << CPU_SSE3 : 0;
    f |= (c >> 9 & 1u) ? 1u << CPU_SSSE3 : 0;
    f |= (c >> 19 & 1u) ? 1u << CPU_SSE4_1 : 0;
    f |= (c >> 20 & 1u) ? 1u << CPU_SSE4_2 : 0;
    const int osxsave = (c >> 27) & 1u;
    const unsigned long long xcr0 = osxsave ? xcr0_read() : 0;
    const int ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
    if (ymm && (c >> 28 & 1u)) f |= 1u << CPU_AVX;
    if (ymm && (c >> 12 & 1u)) f |= 1u << CPU_FMA;
    if (max_leaf >= 7) {
        unsigned a7, b7, c7, d7;
        __cpuid_count(7, 0, a7, b7, c7, d7);
        if (ymm && (b7 >> 5 & 1u)) f |= 1u << CPU_AVX2;
        if (zmm) {
            f |= (b7 >> 16 & 1u) ? 1u << CPU_AVX512F : 0;
            f |= (b7 >> 17 & 1u) ? 1u << CPU_AVX512DQ : 0;
            f |= (b7 >> 30 & 1u) ? 1u << CPU_AVX512BW : 0;
            f |= (b7 >> 31 & 1u) ? 1u << CPU_AVX512VL : 0;
            if (a7 >= 1) {
                __cpuid_count(7, 1, a7, b7, c7, d7);
                f |= (a7 >> 5 & 1u) ? 1u << CPU_AVX512_BF16 : 0;
            }
        }
    }
    info->features = f;
}
#else
void cpu_detect(cpu_info *info)
{
    memset(info, 0, sizeof *info);
}
#endif

void cpu_features_text(const cpu_info *info, char *out, unsigned long size)
{
    size_t used = 0;
    if (size) out[0] = '\0';
    for (int k = 0; k < CPU_FEATURE_COUNT && size; k++) {
        if (!cpu_has(info, (cpu_feature)k)) continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? " " : "", cpu_feature_names[k]);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
}
