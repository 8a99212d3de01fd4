/* fuzz_inject.c: the --inject parser against a small model (ResNet3D-18,
 * width 2, clips 4x8x8x1, batch 2).  A spec that parses must hit an element
 * inside the tensor it names: anything else would write out of bounds. */
#include "fuzz.h"

#include "inject.h"
#include "model.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static model m;
    static int built;
    error err;
    if (!built) {
        model_config config = {.depth = 18, .width = 2, .clip = {4, 8, 8, 1}, .classes = 3, .batch = 2,
                               .threads = 1};
        if (model_build(&m, &config, &err)) abort();
        built = 1;
    }
    char *spec = fuzz_string(data, size);
    injection inj;
    if (injection_parse(spec, &m, &inj, &err) == 0) {
        if (inj.layer < 0 || inj.layer >= m.layer_count || inj.step < 1) abort();
        const tensor *t = &m.layers[inj.layer].output;
        long long capacity = 1;
        for (int i = 0; i < t->rank; i++) capacity *= t->shape[i];
        long long at = injection_element(&inj, t->rank, t->shape);
        if (at < 0 || at >= capacity) abort();
    }
    free(spec);
    return 0;
}
