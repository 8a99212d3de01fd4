"""resnet3d_seed.py: the user's Resnet3DBuilder (../shared/seed/
question-resnet3d-nan.txt, from JihongJu/keras-resnet3d) as written, run by
real tf_keras (TensorFlow 2.x's Keras 2 API).  Changed only where TF 2.x
requires it, plus two knobs the reference runs need; every change is
marked "# CHANGED":
  1. imports: keras.* -> tf_keras.* (TF >= 2.16 ships Keras 3 as
     tf.keras; the seed's Keras 2 API lives in the tf-keras package);
  2. six.string_types -> str (six is Python 2 compatibility, not installed);
  3. WIDTH: the first stage's filters, 64 in the seed (the default here),
     made a module variable so the reference fixtures can use small widths;
  4. KERNEL_INITIALIZER: None keeps the seed (its kernel_initializer lines
     are commented out, so Keras' default glorot_uniform), "he_normal"
     restores them, for the three arms;
  5. the "here CHANNELS last" print is kept.
The training side (tools/keras_reference.py) writes Adam(learning_rate=)
where the seed wrote Adam(lr=) (TF 2.x removed lr=)."""

import math

from tf_keras import backend as K  # CHANGED 1
from tf_keras.layers import (Activation, AveragePooling3D, BatchNormalization, Conv3D, Dense, Flatten, Input,  # CHANGED 1
                             MaxPooling3D, add)
from tf_keras.models import Model  # CHANGED 1
from tf_keras.regularizers import l2  # CHANGED 1

WIDTH = 64  # CHANGED 3
KERNEL_INITIALIZER = None  # CHANGED 4


def _init():  # CHANGED 4
    return {} if KERNEL_INITIALIZER is None else {"kernel_initializer": KERNEL_INITIALIZER}


def _bn_relu(input):
    """Helper to build a BN -> relu block (by @raghakot)."""
    norm = BatchNormalization(axis=CHANNEL_AXIS)(input)
    return Activation("relu")(norm)


def _conv_bn_relu3D(**conv_params):
    filters = conv_params["filters"]
    kernel_size = conv_params["kernel_size"]
    strides = conv_params.setdefault("strides", (1, 1, 1))
    padding = conv_params.setdefault("padding", "same")
    kernel_regularizer = conv_params.setdefault("kernel_regularizer", l2(1e-4))

    def f(input):
        conv = Conv3D(filters=filters, kernel_size=kernel_size, strides=strides, **_init(),  # CHANGED 4
                      kernel_regularizer=kernel_regularizer, padding=padding)(input)
        return _bn_relu(conv)

    return f


def _bn_relu_conv3d(**conv_params):
    """Helper to build a  BN -> relu -> conv3d block."""
    filters = conv_params["filters"]
    kernel_size = conv_params["kernel_size"]
    strides = conv_params.setdefault("strides", (1, 1, 1))
    padding = conv_params.setdefault("padding", "same")
    kernel_regularizer = conv_params.setdefault("kernel_regularizer", l2(1e-4))

    def f(input):
        activation = _bn_relu(input)
        return Conv3D(filters=filters, kernel_size=kernel_size, strides=strides, **_init(),  # CHANGED 4
                      kernel_regularizer=kernel_regularizer, padding=padding)(activation)
    return f


def _shortcut3d(input, residual):
    """3D shortcut to match input and residual and merges them with "sum"."""
    stride_dim1 = math.ceil(int(input.shape[DIM1_AXIS]) / int(residual.shape[DIM1_AXIS]))
    stride_dim2 = math.ceil(int(input.shape[DIM2_AXIS]) / int(residual.shape[DIM2_AXIS]))
    stride_dim3 = math.ceil(int(input.shape[DIM3_AXIS]) / int(residual.shape[DIM3_AXIS]))
    equal_channels = int(residual.shape[CHANNEL_AXIS]) == int(input.shape[CHANNEL_AXIS])

    shortcut = input
    if stride_dim1 > 1 or stride_dim2 > 1 or stride_dim3 > 1 or not equal_channels:
        shortcut = Conv3D(filters=int(residual.shape[CHANNEL_AXIS]), kernel_size=(1, 1, 1),
                          strides=(stride_dim1, stride_dim2, stride_dim3), **_init(),  # CHANGED 4
                          kernel_regularizer=l2(1e-4), padding="valid")(input)
    return add([shortcut, residual])


def _residual_block3d(block_function, filters, kernel_regularizer, repetitions, is_first_layer=False):
    def f(input):
        for i in range(repetitions):
            strides = (1, 1, 1)
            if i == 0 and not is_first_layer:
                strides = (2, 2, 2)
            input = block_function(filters=filters, strides=strides, kernel_regularizer=kernel_regularizer,
                                   is_first_block_of_first_layer=(is_first_layer and i == 0))(input)
        return input

    return f


def basic_block(filters, strides=(1, 1, 1), kernel_regularizer=l2(1e-4), is_first_block_of_first_layer=False):
    """Basic 3 X 3 X 3 convolution blocks. Extended from raghakot's 2D impl."""
    def f(input):
        if is_first_block_of_first_layer:
            conv1 = Conv3D(filters=filters, kernel_size=(3, 3, 3), strides=strides, **_init(),  # CHANGED 4
                           kernel_regularizer=kernel_regularizer, padding="same")(input)
        else:
            conv1 = _bn_relu_conv3d(filters=filters, kernel_size=(3, 3, 3), kernel_regularizer=kernel_regularizer,
                                    strides=strides)(input)
        residual = _bn_relu_conv3d(filters=filters, kernel_regularizer=kernel_regularizer,
                                   kernel_size=(3, 3, 3))(conv1)
        return _shortcut3d(input, residual)

    return f


def bottleneck(filters, strides=(1, 1, 1), kernel_regularizer=l2(1e-4), is_first_block_of_first_layer=False):
    """Basic 3 X 3 X 3 convolution blocks. Extended from raghakot's 2D impl."""
    def f(input):
        if is_first_block_of_first_layer:
            conv_1_1 = Conv3D(filters=filters, kernel_size=(1, 1, 1), strides=strides, **_init(),  # CHANGED 4
                              kernel_regularizer=kernel_regularizer, padding="same")(input)
        else:
            conv_1_1 = _bn_relu_conv3d(filters=filters, kernel_size=(1, 1, 1),
                                       kernel_regularizer=kernel_regularizer, strides=strides)(input)
        conv_3_3 = _bn_relu_conv3d(filters=filters, kernel_regularizer=kernel_regularizer,
                                   kernel_size=(3, 3, 3))(conv_1_1)
        residual = _bn_relu_conv3d(filters=filters * 4, kernel_regularizer=kernel_regularizer,
                                   kernel_size=(1, 1, 1))(conv_3_3)
        return _shortcut3d(input, residual)

    return f


def _handle_data_format():
    global DIM1_AXIS
    global DIM2_AXIS
    global DIM3_AXIS
    global CHANNEL_AXIS
    if K.image_data_format() == 'channels_last':
        print("here CHANNELS last")
        DIM1_AXIS = 1
        DIM2_AXIS = 2
        DIM3_AXIS = 3
        CHANNEL_AXIS = 4
    else:
        CHANNEL_AXIS = 1
        DIM1_AXIS = 2
        DIM2_AXIS = 3
        DIM3_AXIS = 4


def _get_block(identifier):
    if isinstance(identifier, str):  # CHANGED 2
        res = globals().get(identifier)
        if not res:
            raise ValueError('Invalid {}'.format(identifier))
        return res
    return identifier


class Resnet3DBuilder(object):
    """ResNet3D."""

    @staticmethod
    def build(input_shape, num_outputs, block_fn, repetitions, reg_factor):
        _handle_data_format()
        if len(input_shape) != 4:
            raise ValueError("Input shape should be a tuple (conv_dim1, conv_dim2, conv_dim3, channels)")

        block_fn = _get_block(block_fn)
        input = Input(shape=input_shape)
        conv1 = _conv_bn_relu3D(filters=WIDTH, kernel_size=(7, 7, 7),  # CHANGED 3
                                kernel_regularizer=l2(reg_factor), strides=(2, 2, 2))(input)
        pool1 = MaxPooling3D(pool_size=(3, 3, 3), strides=(2, 2, 2), padding="same")(conv1)

        block = pool1
        filters = WIDTH  # CHANGED 3
        for i, r in enumerate(repetitions):
            block = _residual_block3d(block_fn, filters=filters, kernel_regularizer=l2(reg_factor),
                                      repetitions=r, is_first_layer=(i == 0))(block)
            filters *= 2

        block_output = _bn_relu(block)

        pool2 = AveragePooling3D(pool_size=(int(block.shape[DIM1_AXIS]), int(block.shape[DIM2_AXIS]),
                                            int(block.shape[DIM3_AXIS])), strides=(1, 1, 1))(block_output)
        flatten1 = Flatten()(pool2)
        if num_outputs > 1:
            dense = Dense(units=num_outputs, **_init(),  # CHANGED 4
                          kernel_regularizer=l2(reg_factor), activation="softmax")(flatten1)
        else:
            dense = Dense(units=num_outputs, **_init(),  # CHANGED 4
                          kernel_regularizer=l2(reg_factor), activation="sigmoid")(flatten1)

        model = Model(inputs=input, outputs=dense)
        return model

    @staticmethod
    def build_resnet_18(input_shape, num_outputs, reg_factor=1e-4):
        regularization_factor = 1e-4
        return Resnet3DBuilder.build(input_shape, num_outputs, basic_block, [2, 2, 2, 2],
                                     reg_factor=regularization_factor)

    @staticmethod
    def build_resnet_34(input_shape, num_outputs, reg_factor=1e-4):
        regularization_factor = 1e-4
        return Resnet3DBuilder.build(input_shape, num_outputs, basic_block, [3, 4, 6, 3],
                                     reg_factor=regularization_factor)

    @staticmethod
    def build_resnet_50(input_shape, num_outputs, reg_factor=1e-4):
        regularization_factor = 1e-4
        return Resnet3DBuilder.build(input_shape, num_outputs, bottleneck, [3, 4, 6, 3],
                                     reg_factor=regularization_factor)

    @staticmethod
    def build_resnet_101(input_shape, num_outputs, reg_factor=1e-4):
        regularization_factor = 1e-4
        return Resnet3DBuilder.build(input_shape, num_outputs, bottleneck, [3, 4, 23, 3],
                                     reg_factor=regularization_factor)

    @staticmethod
    def build_resnet_152(input_shape, num_outputs, reg_factor=1e-4):
        regularization_factor = 1e-4
        return Resnet3DBuilder.build(input_shape, num_outputs, bottleneck, [3, 8, 36, 3],
                                     reg_factor=regularization_factor)


def build(depth, clip, classes, width=64, initializer=None):
    """A fresh model as the seed builds it, with Keras' name counters reset
    (as in a fresh process), so the layer names are the ones nanprobe gives."""
    global WIDTH, KERNEL_INITIALIZER
    WIDTH, KERNEL_INITIALIZER = width, initializer
    K.clear_session()
    return getattr(Resnet3DBuilder, "build_resnet_%d" % depth)(tuple(clip), classes)


def use_keras3():
    """Rebinds the builder to Keras 3 (keras.*), for the Keras 3 files."""
    global K, Activation, AveragePooling3D, BatchNormalization, Conv3D, Dense, Flatten, Input, MaxPooling3D, add
    global Model, l2
    import keras
    K = keras.backend
    K.clear_session = keras.utils.clear_session
    from keras.layers import (Activation, AveragePooling3D, BatchNormalization, Conv3D, Dense, Flatten, Input,
                              MaxPooling3D, add)
    from keras.models import Model
    from keras.regularizers import l2


def use_tf_keras():
    """Back to tf_keras (the default at import)."""
    global K, Activation, AveragePooling3D, BatchNormalization, Conv3D, Dense, Flatten, Input, MaxPooling3D, add
    global Model, l2
    from tf_keras import backend as K
    from tf_keras.layers import (Activation, AveragePooling3D, BatchNormalization, Conv3D, Dense, Flatten, Input,
                                 MaxPooling3D, add)
    from tf_keras.models import Model
    from tf_keras.regularizers import l2


def without_l2():
    """The seed's L2-off arm: every kernel_regularizer None (the builder's
    build_resnet_* ignore their reg_factor argument, so this is the way);
    use_tf_keras() restores it."""
    global l2
    l2 = lambda factor: None  # noqa: E731
