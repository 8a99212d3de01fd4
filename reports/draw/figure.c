/* figure.c: a figure in memory, as the draw stage fills it (see figure.h). */
#include "figure.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void figure_clear(figure *fig)
{
    for (int k = 0; k < fig->data_count; k++) strbuf_free(&fig->data_text[k]);
    strbuf_free(&fig->body);
    memset(fig, 0, sizeof *fig);
}

figure *figure_add(figure_set *set, const char *base, int width, int height, const char *caption)
{
    figure *fig = NULL;
    for (int i = 0; i < set->count && !fig; i++)
        if (strcmp(set->items[i].base, base) == 0) fig = &set->items[i];
    if (!fig && set->count >= FIGURE_MAX) return NULL;
    if (!fig) fig = &set->items[set->count++];
    figure_clear(fig);
    snprintf(fig->base, sizeof fig->base, "%s", base);
    snprintf(fig->caption, sizeof fig->caption, "%s", caption);
    fig->width = width;
    fig->height = height;
    return fig;
}

void figure_add_data(figure *fig, const char *name, strbuf *text)
{
    if (fig->data_count < FIGURE_DATA_MAX) {
        snprintf(fig->data[fig->data_count], sizeof fig->data[0], "%s", name);
        fig->data_text[fig->data_count++] = *text;
    } else {
        strbuf_free(text);
    }
    memset(text, 0, sizeof *text);
}

void figure_number(strbuf *b, double value)
{
    if (isfinite(value)) strbuf_printf(b, "%.8g", value);
    else strbuf_append(b, "NaN");
}

void figure_set_free(figure_set *set)
{
    for (int i = 0; i < set->count; i++) figure_clear(&set->items[i]);
    set->count = 0;
}
