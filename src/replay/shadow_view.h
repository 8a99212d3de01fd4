/* shadow_view.h: the float32 model's buffers as a shadow_view (float code
 * only: this header names the float32 model). */
#ifndef NANPROBE_SHADOW_VIEW_H
#define NANPROBE_SHADOW_VIEW_H

#include "model.h"
#include "shadow.h"

/* Points v at m's buffers (v owns only its pointer arrays). */
int shadow_view_init(shadow_view *v, const model *m, error *err);
void shadow_view_free(shadow_view *v);

#endif
