/* report_ladder.c: the precision ladder as an HTML table (see report_ladder.h). */
#include "report_ladder.h"

#include <string.h>

#include "html.h"

static void cell_layer(FILE *f, const rundata *d, int layer, const char *tensor, const char *value)
{
    fputs("<td>", f);
    if (layer >= 0 && layer < d->layer_count) {
        html_escape(f, tensor);
        fputs(" of ", f);
        html_escape(f, d->layers[layer].name);
        fputs(" (", f);
        html_escape(f, d->layers[layer].path);
        fputs(")", f);
        if (value && value[0]) {
            fputs(": ", f);
            html_escape(f, value);
        }
    } else {
        fputs("-", f);
    }
    fputs("</td>", f);
}

void report_ladder_table(FILE *f, const rundata *d)
{
    const precision_info *p = &d->precision;
    if (p->ladder_count == 0) return;
    fputs("<h3>Precision ladder</h3>\n<p class=\"meta\">The step rerun from the same state in float32 and in each "
          "emulated precision (TF32 GEMM operands; Keras' mixed_bfloat16 and mixed_float16 policies, the latter "
          "with its loss scale). First non-finite: where the values left the format's range; all digits lost: the "
          "first tensor that is all zero where float32's is not. Rows: table replay_precisions.</p>\n"
          "<table>\n<tr><th>step</th><th>precision</th><th>result</th><th>first non-finite</th>"
          "<th>all digits lost first</th></tr>\n",
          f);
    for (int i = 0; i < p->ladder_count; i++) {
        const ladder_info *x = &p->ladder[i];
        fprintf(f, "<tr><td class=\"num\">%d</td><td>", x->step);
        html_escape(f, x->precision);
        fprintf(f, "</td><td>%s</td>", x->failed ? "fails" : x->skipped ? "skipped (loss scale)" : "holds");
        cell_layer(f, d, x->bad_layer, x->bad_tensor, x->bad_value);
        cell_layer(f, d, x->lost_layer, x->lost_tensor, NULL);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}
