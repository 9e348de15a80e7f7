"""What LLM-written code may use: modules, their attributes, builtins, and attribute names it may never touch.

The safe runner (`llmcode.safe_runner`) reads these sets. They are explicit name lists on purpose:
generous for tensor math (so that real reward functions run unchanged), strict for anything that
touches files, processes, the network, raw memory or global state (seeds, default dtypes, threads).
A name listed here that the installed torch/numpy does not have is silently skipped.
"""

# Modules an `import` may name, mapped to the proxy the import returns (see safe_runner.build_proxies).
ALLOWED_MODULES = (
    "math",
    "typing",
    "numpy",
    "numpy.linalg",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.linalg",
    "torch.special",
)

_TORCH_CREATION = """
tensor as_tensor from_numpy zeros ones zeros_like ones_like full full_like empty empty_like arange linspace logspace eye
stack cat concat concatenate hstack vstack dstack column_stack row_stack where meshgrid cartesian_prod block_diag
atleast_1d atleast_2d atleast_3d broadcast_tensors broadcast_to broadcast_shapes tril_indices triu_indices
"""
_TORCH_ELEMENTWISE = """
abs absolute neg negative sign sgn signbit copysign sqrt rsqrt square exp exp2 expm1 log log2 log10 log1p
sin cos tan asin acos atan atan2 arcsin arccos arctan arctan2 sinh cosh tanh asinh acosh atanh arcsinh arccosh arctanh
sigmoid logit relu softmax log_softmax pow float_power clamp clip clamp_min clamp_max floor ceil round trunc fix frac
fmod remainder reciprocal erf erfc erfinv maximum minimum fmax fmin hypot lerp nan_to_num xlogy heaviside deg2rad rad2deg
add sub subtract mul multiply div divide true_divide floor_divide addcmul addcdiv sinc logaddexp logaddexp2
isnan isinf isfinite isposinf isneginf isreal isclose allclose equal eq ne lt le gt ge greater greater_equal less
less_equal not_equal logical_and logical_or logical_not logical_xor bitwise_and bitwise_or bitwise_not bitwise_xor
"""
_TORCH_REDUCTIONS = """
sum mean prod max min amax amin aminmax argmax argmin std var std_mean var_mean median nanmedian nansum nanmean norm
logsumexp cumsum cumprod cummax cummin all any count_nonzero topk sort argsort msort kthvalue mode unique
unique_consecutive quantile nanquantile dist cdist cosine_similarity pairwise_distance bincount histc bucketize
searchsorted diff trapz trapezoid cumulative_trapezoid
"""
_TORCH_SHAPE_AND_LINALG = """
matmul mm bmm mv dot vdot inner outer ger cross einsum tensordot det logdet slogdet inverse trace diag diagonal
diag_embed diagflat tril triu kron reshape flatten unflatten ravel squeeze unsqueeze transpose swapaxes swapdims
permute t movedim moveaxis narrow chunk split tensor_split hsplit vsplit unbind gather scatter scatter_add index_select
masked_select masked_fill take take_along_dim roll rot90 flip fliplr flipud repeat_interleave tile nonzero argwhere
numel is_tensor is_floating_point is_nonzero clone detach select index_add index_copy index_fill
"""
_TORCH_TYPES_AND_CONSTANTS = """
Tensor Size dtype device finfo iinfo float float32 float64 float16 bfloat16 double half int int8 int16 int32 int64 long
short uint8 bool complex64 complex128 cfloat cdouble pi e inf nan newaxis
no_grad enable_grad inference_mode is_grad_enabled get_default_dtype
"""
# torch.nn only exposes `functional`; layers hold parameters and global state the reward code has no use for.
TORCH_NN_NAMES = frozenset({"functional"})
TORCH_SUBMODULES = frozenset({"nn", "linalg", "special"})

TORCH_NAMES = frozenset(
    (_TORCH_CREATION + _TORCH_ELEMENTWISE + _TORCH_REDUCTIONS + _TORCH_SHAPE_AND_LINALG + _TORCH_TYPES_AND_CONSTANTS).split()
)

TORCH_FUNCTIONAL_NAMES = frozenset(
    """
    relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign softshrink hardshrink tanhshrink sigmoid tanh
    hardtanh hardsigmoid hardswish logsigmoid softmax log_softmax softmin normalize cosine_similarity pairwise_distance
    one_hot pad mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy binary_cross_entropy_with_logits
    cross_entropy nll_loss kl_div threshold linear interpolate cosine_embedding_loss
    """.split()
)

TORCH_LINALG_NAMES = frozenset(
    """
    norm vector_norm matrix_norm det slogdet inv pinv solve lstsq cross eig eigvals eigh eigvalsh svd svdvals qr cholesky
    matrix_rank matrix_power multi_dot vecdot diagonal matmul
    """.split()
)

TORCH_SPECIAL_NAMES = frozenset(
    """
    expit logit erf erfc erfinv exp2 expm1 log1p xlogy xlog1py entr sinc softmax log_softmax logsumexp ndtr ndtri
    i0 i0e i1 i1e round
    """.split()
)

NUMPY_NAMES = frozenset(
    """
    array asarray asanyarray copy zeros ones zeros_like ones_like full full_like empty empty_like arange linspace logspace
    eye identity stack concatenate hstack vstack dstack column_stack where clip abs absolute fabs sign signbit copysign
    sqrt cbrt square exp exp2 expm1 log log2 log10 log1p sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh
    arccosh arctanh degrees radians deg2rad rad2deg floor ceil round around rint trunc fix maximum minimum fmax fmin hypot
    power float_power mod fmod remainder divide true_divide floor_divide multiply add subtract negative positive
    reciprocal sinc heaviside sum mean average prod max min amax amin argmax argmin ptp std var median percentile
    quantile nansum nanmean nanmax nanmin nanstd nanvar nanmedian nanargmax nanargmin cumsum cumprod diff gradient interp
    all any isnan isinf isfinite isclose allclose array_equal nan_to_num logical_and logical_or logical_not logical_xor
    equal not_equal less less_equal greater greater_equal dot vdot matmul inner outer cross einsum tensordot trace diag
    diagonal tril triu kron reshape ravel squeeze expand_dims transpose swapaxes moveaxis split array_split tile repeat
    roll flip fliplr flipud sort argsort unique count_nonzero nonzero argwhere searchsorted digitize bincount
    broadcast_to broadcast_arrays atleast_1d atleast_2d atleast_3d meshgrid take take_along_axis shape size ndim
    errstate pi e inf nan newaxis ndarray dtype float16 float32 float64 int8 int16 int32 int64 uint8 bool_ integer
    floating number finfo iinfo linalg
    """.split()
)

NUMPY_LINALG_NAMES = frozenset("norm det slogdet inv pinv solve lstsq eig eigvals eigh eigvalsh svd qr cholesky matrix_rank".split())

TYPING_NAMES = frozenset("Any Callable Dict Iterable List Mapping Optional Sequence Set Tuple Union".split())

# math: every public name, except these that take seconds to minutes on a large integer argument; the
# runner wraps them with a bound on the argument instead of handing out the raw function.
MATH_BOUNDED_FUNCTIONS = frozenset({"factorial", "comb", "perm"})

SAFE_BUILTIN_NAMES = frozenset(
    """
    abs min max sum len range enumerate zip map filter sorted reversed all any round pow divmod float int bool str list
    tuple dict set frozenset isinstance slice print iter next callable chr ord hash
    Exception ValueError RuntimeError ZeroDivisionError AssertionError KeyError IndexError TypeError ArithmeticError
    OverflowError FloatingPointError NotImplementedError StopIteration AttributeError NameError LookupError
    None True False Ellipsis NotImplemented
    """.split()
)

# Names the code may not even mention: they are the classic ways out of a restricted namespace. Refused
# statically so that the message is clear (at run time they would only be a NameError).
FORBIDDEN_NAMES = frozenset(
    """
    eval exec compile getattr setattr delattr hasattr globals locals vars open breakpoint input help dir type object
    super classmethod staticmethod property memoryview bytearray id exit quit copyright credits license
    BaseException SystemExit KeyboardInterrupt GeneratorExit
    """.split()
)

# Attribute names refused on any object, because methods of tensors and arrays cannot be resolved
# statically: file I/O, pickling, raw memory, frame/traceback walking, string-format attribute walking,
# global state, and tensors that share memory with an input but not its version counter (`.data`).
DENIED_ATTRIBUTES = frozenset(
    """
    tofile fromfile from_file memmap dump dumps load loads save savez savetxt loadtxt genfromtxt frombuffer fromstring
    ctypes ctypeslib as_strided as_strided_ set_ storage untyped_storage typed_storage share_memory_ data setflags
    getfield setfield format format_map gi_frame gi_code gi_yieldfrom cr_frame cr_code cr_await ag_frame ag_code
    f_globals f_locals f_back f_builtins f_code tb_frame tb_next co_code mro with_traceback grad_fn next_functions
    register_hook register_prehook register_post_accumulate_grad_hook hub utils ops library backends multiprocessing
    distributed compile jit manual_seed seed random set_printoptions set_default_dtype set_num_threads os sys
    """.split()
)
