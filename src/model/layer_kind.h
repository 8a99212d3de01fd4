/* layer_kind.h: the kinds of layer the model builds (model.h), on their own
 * so that a reader of run.db's layers.kind (src/rundb/read_run.h) can speak
 * them without the whole model.  model.h names them (layer_kind_name). */
#ifndef NANPROBE_LAYER_KIND_H
#define NANPROBE_LAYER_KIND_H

typedef enum layer_kind {
    LAYER_INPUT,
    LAYER_CONV3D,
    LAYER_BATCHNORM,
    LAYER_RELU,
    LAYER_MAXPOOL3D,
    LAYER_AVGPOOL3D,
    LAYER_FLATTEN,
    LAYER_DENSE,
    LAYER_ADD,
    LAYER_KIND_COUNT
} layer_kind;

#endif
