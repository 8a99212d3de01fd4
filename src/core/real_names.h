/* real_names.h: the double build's names (see real.h).  Every external
 * symbol of the engine's files, suffixed _f64, so the float64 engine links
 * beside the float32 one.  `make layers` fails when a symbol of the double
 * objects is missing here (tools/check_f64_names.sh). */
#ifndef NANPROBE_REAL_NAMES_H
#define NANPROBE_REAL_NAMES_H

#define adam_step_size adam_step_size_f64
#define adam_update adam_update_f64
#define add_backward_input add_backward_input_f64
#define add_forward add_forward_f64
#define arena_free arena_free_f64
#define arena_place arena_place_f64
#define arena_round arena_round_f64
#define arena_take arena_take_f64
#define avgpool3d_backward avgpool3d_backward_f64
#define avgpool3d_forward avgpool3d_forward_f64
#define batchnorm_backward batchnorm_backward_f64
#define batchnorm_forward_infer batchnorm_forward_infer_f64
#define batchnorm_forward_train batchnorm_forward_train_f64
#define batchnorm_workspace_floats batchnorm_workspace_floats_f64
#define conv3d_backward conv3d_backward_f64
#define conv3d_forward conv3d_forward_f64
#define conv3d_geometry_init conv3d_geometry_init_f64
#define conv3d_kernel_count conv3d_kernel_count_f64
#define conv3d_mac_count conv3d_mac_count_f64
#define conv3d_plan conv3d_plan_f64
#define conv3d_workspace_floats conv3d_workspace_floats_f64
#define dense_backward dense_backward_f64
#define dense_forward dense_forward_f64
#define gemm_parallel gemm_parallel_f64
#define layer_kind_name layer_kind_name_f64
#define layer_kind_names layer_kind_names_f64
#define initializer_names initializer_names_f64
#define loss_from_logits loss_from_logits_f64
#define maxpool3d_backward maxpool3d_backward_f64
#define maxpool3d_forward maxpool3d_forward_f64
#define maxpool3d_geometry_init maxpool3d_geometry_init_f64
#define model_backward model_backward_f64
#define model_backward_layer model_backward_layer_f64
#define model_build model_build_f64
#define model_depth_names model_depth_names_f64
#define model_depths model_depths_f64
#define model_find_layer model_find_layer_f64
#define model_forward model_forward_f64
#define model_forward_layer model_forward_layer_f64
#define model_free model_free_f64
#define model_init_weights model_init_weights_f64
#define model_input model_input_f64
#define model_l2_penalty model_l2_penalty_f64
#define model_logits model_logits_f64
#define model_logits_gradient model_logits_gradient_f64
#define model_repetitions model_repetitions_f64
#define model_set_batch model_set_batch_f64
#define parameter_role_name parameter_role_name_f64
#define relu_backward relu_backward_f64
#define relu_forward relu_forward_f64
#define tensor_format_shape tensor_format_shape_f64
#define tensor_make tensor_make_f64
#define tensor_shape_count tensor_shape_count_f64

#endif
