"""What LLM-written code may use: syntax, modules, their attributes, builtins, and attributes per kind of object.

Everything here is a positive list: what is not listed is refused. The static check
(`llmcode.static_check`) refuses syntax and attribute names outside these lists before anything runs;
the restricted namespace (`llmcode.restricted`) checks every attribute access again at run time against
the kind of object it is made on (a tensor, an array, a dict...). The lists are generous for tensor math,
so that real reward functions run unchanged, and hold nothing that touches files, processes, the network,
raw memory or global state (seeds, default dtypes, threads). A name listed here that the installed
torch/numpy does not have is skipped.
"""

import ast

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
    errstate pi e inf nan newaxis float16 float32 float64 int8 int16 int32 int64 uint8 bool_ integer
    floating number finfo iinfo linalg
    """.split()
)

NUMPY_LINALG_NAMES = frozenset("norm det slogdet inv pinv solve lstsq eig eigvals eigh eigvalsh svd qr cholesky matrix_rank".split())

TYPING_NAMES = frozenset("Any Callable Dict Iterable List Mapping Optional Sequence Set Tuple Union".split())

SAFE_BUILTIN_NAMES = frozenset(
    """
    abs min max sum len range enumerate zip map filter sorted reversed all any round pow divmod float int bool str list
    tuple dict set frozenset isinstance slice print iter next callable chr ord hash
    Exception ValueError RuntimeError ZeroDivisionError AssertionError KeyError IndexError TypeError ArithmeticError
    OverflowError FloatingPointError NotImplementedError StopIteration AttributeError NameError LookupError
    None True False Ellipsis NotImplemented
    """.split()
)

# Names the code may not even mention (they are not builtins here either): the classic ways out of a restricted
# namespace, refused statically so that the message says why instead of a run-time NameError.
FORBIDDEN_NAMES = frozenset(
    """
    eval exec compile getattr setattr delattr hasattr globals locals vars open breakpoint input help dir type object
    super classmethod staticmethod property memoryview bytearray id exit quit copyright credits license
    BaseException SystemExit KeyboardInterrupt GeneratorExit
    """.split()
)

# Syntax: every AST node type LLM code may contain. Absent on purpose: class definitions, `global`/`nonlocal`,
# generators (`yield`), `async`/`await`, `match` statements (their patterns read attributes), `del` of attributes
# (by the attribute rule) and anything newer than this list.
ALLOWED_NODES = frozenset({
    ast.Module, ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.While,
    ast.If, ast.With, ast.Raise, ast.Try, ast.Assert, ast.Import, ast.ImportFrom, ast.Expr, ast.Pass, ast.Break,
    ast.Continue, ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call, ast.FormattedValue,
    ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice,
    ast.Load, ast.Store, ast.Del, ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.MatMult, ast.Div, ast.Mod, ast.Pow,
    ast.LShift, ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd, ast.FloorDiv, ast.Invert, ast.Not, ast.UAdd, ast.USub,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.comprehension,
    ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword, ast.alias, ast.withitem,
})

# Attributes per kind of object. Tensor and array methods: the torch/numpy functions above that are also methods,
# these extras, and the in-place `name_` variants of tensor methods (LLM code works on copies of its inputs).
TENSOR_EXTRA_ATTRIBUTES = frozenset(
    """
    shape dtype device ndim T mT real imag is_cuda size dim numel nelement element_size item tolist numpy float double
    half int long bool short byte char to cpu type_as clone detach contiguous view view_as reshape_as expand expand_as
    repeat new_zeros new_ones new_full new_tensor new_empty fill_ zero_ copy_ masked_fill_ index_put index_put_ put_
    is_floating_point is_complex is_contiguous norm square_ unfold sum_to_size requires_grad requires_grad_
    """.split()
)
NDARRAY_EXTRA_ATTRIBUTES = frozenset(
    """
    shape dtype ndim size T real imag item tolist astype copy reshape flatten ravel squeeze transpose swapaxes fill
    sum mean max min argmax argmin std var prod cumsum cumprod any all clip round sort argsort nonzero repeat take
    dot trace diagonal conj conjugate ptp searchsorted
    """.split()
)
NUMPY_SCALAR_ATTRIBUTES = frozenset("item astype dtype shape ndim size real imag tolist is_integer".split())
DTYPE_ATTRIBUTES = frozenset("is_floating_point is_complex is_signed itemsize".split())
NUMPY_DTYPE_ATTRIBUTES = frozenset("kind itemsize name char".split())
DEVICE_ATTRIBUTES = frozenset("type index".split())
FINFO_ATTRIBUTES = frozenset("eps max min tiny smallest_normal resolution bits dtype".split())
DICT_ATTRIBUTES = frozenset("keys values items get copy setdefault update pop".split())
LIST_ATTRIBUTES = frozenset("append extend insert pop index count copy reverse sort remove clear".split())
TUPLE_ATTRIBUTES = frozenset("index count".split())
SIZE_ATTRIBUTES = TUPLE_ATTRIBUTES | {"numel"}
SET_ATTRIBUTES = frozenset("add update union intersection difference issubset issuperset copy discard".split())
# No `format`/`format_map`: a format string reads attributes (`'{0.__class__}'.format(x)`).
STR_ATTRIBUTES = frozenset(
    "lower upper strip lstrip rstrip split join replace startswith endswith find count isdigit isalpha title".split()
)
FLOAT_ATTRIBUTES = frozenset("is_integer real imag conjugate".split())
INT_ATTRIBUTES = frozenset("real imag conjugate bit_length".split())
# Fields of the named results of torch functions (`x.max(dim=1).values`) and numpy.linalg (`np.linalg.eigh(a).eigenvalues`).
RESULT_FIELDS = frozenset(
    "values indices eigenvalues eigenvectors U S V Vh Q R L sign logabsdet solution residuals rank singular_values".split()
)
