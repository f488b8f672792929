// Graph-mode post-training quantization driven from C++. Python's quantize_jit is a thin
// wrapper over four passes that Debian's libtorch exports; what Python adds is the
// observer modules, so we define those here in TorchScript (same maths as torch.ao's
// MinMaxObserver / PerChannelMinMaxObserver / PlaceholderObserver).
#include "cvtool/tools/quantize_module.hpp"

#include <ATen/Context.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/quantization/finalize.h>
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/csrc/jit/passes/quantization/insert_quant_dequant.h>
#include <torch/csrc/jit/api/function_impl.h>

#include <cmath>
#include <sstream>
#include <unordered_map>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace tj = torch::jit;

QuantMode parse_quant_mode(const std::string& name) {
  if (name == "dynamic") return QuantMode::Dynamic;
  if (name == "static") return QuantMode::Static;
  if (name == "fp16" || name == "float16") return QuantMode::Float16;
  throw Error(ErrorKind::Config, "quantize.mode: expected dynamic, static or fp16, got \"" + name + "\"");
}

std::string to_string(QuantMode mode) {
  switch (mode) {
    case QuantMode::Dynamic: return "dynamic";
    case QuantMode::Static: return "static";
    case QuantMode::Float16: return "fp16";
  }
  return "?";
}

int QuantizeModuleResult::quantized_ops() const {
  int n = 0;
  for (const auto& op : ops) n += op.quantized ? 1 : 0;
  return n;
}

std::pair<double, long> affine_qparams(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  double scale = std::max(static_cast<double>(static_cast<float>((hi - lo) / 255.0)), 1.1920928955078125e-07);
  long zp = static_cast<long>(std::nearbyint(-lo / scale));
  return {scale, std::clamp(zp, 0L, 255L)};
}

double symmetric_scale(double max_abs) { return std::max(max_abs / 127.5, 1.1920928955078125e-07); }

void set_quant_engine(const std::string& engine) {
  at::QEngine e = engine == "qnnpack"  ? at::QEngine::QNNPACK
                  : engine == "onednn" ? at::QEngine::ONEDNN
                  : engine == "fbgemm" ? at::QEngine::FBGEMM
                                       : at::QEngine::NoQEngine;
  std::string built;
  bool found = false;
  for (auto q : at::globalContext().supportedQEngines()) {
    if (q == at::QEngine::NoQEngine) continue;
    built += std::string(built.empty() ? "" : ", ") + c10::toString(q);
    found = found || q == e;
  }
  if (!found) throw Error(ErrorKind::Config, "quantize.engine: \"" + engine + "\" is not built into this libtorch (has: " + built + ")");
  at::globalContext().setQEngine(e);
}

namespace {

// torch.ao's MinMaxObserver (quint8, per-tensor affine, quant range 0..255).
const char* kActivationObserver = R"(
def forward(self, x: Tensor) -> Tensor:
    v = x.detach().float()
    self.min_val = torch.minimum(self.min_val, torch.min(v))
    self.max_val = torch.maximum(self.max_val, torch.max(v))
    return x

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    lo = torch.clamp(self.min_val, max=0.0)
    hi = torch.clamp(self.max_val, min=0.0)
    scale = torch.clamp((hi - lo) / 255.0, min=1.1920928955078125e-07)
    zp = torch.clamp(torch.round(0.0 - lo / scale), 0, 255).long()
    return scale.reshape([1]), zp.reshape([1])
)";

// Symmetric qint8 weights; per tensor or per output channel (axis 0).
const char* kWeightObserver = R"(
def forward(self, x: Tensor) -> Tensor:
    v = x.detach().float().reshape([x.size(0), -1])
    if self.per_channel:
        self.min_val = torch.amin(v, 1)
        self.max_val = torch.amax(v, 1)
    else:
        self.min_val = torch.min(v).reshape([1])
        self.max_val = torch.max(v).reshape([1])
    return x

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    amax = torch.maximum(0.0 - torch.clamp(self.min_val, max=0.0), torch.clamp(self.max_val, min=0.0))
    scale = torch.clamp(amax / 127.5, min=1.1920928955078125e-07)
    return scale, torch.zeros_like(scale).long()
)";

// Dynamic activations: the name must contain "PlaceholderObserver" (the passes check it).
const char* kPlaceholderObserver = R"(
def forward(self, x: Tensor) -> Tensor:
    return x

def calculate_qparams(self) -> Tuple[Tensor, Tensor]:
    return torch.tensor([1.0]), torch.tensor([0])
)";

tj::Module make_observer(const std::string& name, const char* source) {
  tj::Module m(c10::QualifiedName("__torch__.cvtool.quant." + name));
  m.register_attribute("min_val", c10::TensorType::get(), torch::tensor(INFINITY));
  m.register_attribute("max_val", c10::TensorType::get(), torch::tensor(-INFINITY));
  m.define(source);
  return m;
}

tj::Module activation_observer() {
  auto m = make_observer("MinMaxObserver", kActivationObserver);
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(), static_cast<int64_t>(at::kPerTensorAffine));
  return m;
}

tj::Module weight_observer(bool per_channel) {
  // The per_channel attribute must exist before define() compiles the source.
  tj::Module m(c10::QualifiedName(std::string("__torch__.cvtool.quant.") +
                                  (per_channel ? "PerChannelWeightObserver" : "WeightObserver")));
  m.register_attribute("min_val", c10::TensorType::get(), torch::tensor({INFINITY}));
  m.register_attribute("max_val", c10::TensorType::get(), torch::tensor({-INFINITY}));
  m.register_attribute("per_channel", c10::BoolType::get(), per_channel);
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQInt8));
  m.register_attribute("qscheme", c10::IntType::get(),
                       static_cast<int64_t>(per_channel ? at::kPerChannelSymmetric : at::kPerTensorSymmetric));
  m.register_attribute("ch_axis", c10::IntType::get(), static_cast<int64_t>(0));
  m.define(kWeightObserver);
  return m;
}

tj::Module placeholder_observer() {
  auto m = make_observer("PlaceholderObserver", kPlaceholderObserver);
  m.register_attribute("dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("qscheme", c10::IntType::get(), static_cast<int64_t>(at::kPerTensorAffine));
  m.register_attribute("is_dynamic", c10::BoolType::get(), true);
  // The pass reads the dynamic activation dtype from here (an empty qparam list crashes it).
  m.register_attribute("compute_dtype", c10::IntType::get(), static_cast<int64_t>(at::kQUInt8));
  m.register_attribute("quant_min", c10::IntType::get(), static_cast<int64_t>(0));
  m.register_attribute("quant_max", c10::IntType::get(), static_cast<int64_t>(255));
  return m;
}

c10::optional<at::Tensor> constant_tensor(tj::Value* v) {
  if (v->node()->kind() != c10::prim::Constant) return c10::nullopt;
  auto iv = tj::toIValue(v);
  if (!iv || !iv->isTensor()) return c10::nullopt;
  return iv->toTensor();
}

bool is_none(tj::Value* v) { return v->type()->kind() == c10::TypeKind::NoneType || v->mustBeNone(); }

std::string shape_of(const at::Tensor& t) {
  std::ostringstream s;
  s << "weight " << t.sizes();
  return s.str();
}

// Replaces a weight op with `kind`(x, GetAttr(w), GetAttr(b) | None, extra...) and the
// weight/bias as parameters of the module: the passes only quantize weights that are
// module attributes, while frozen (and traced-from-ONNX) graphs hold them as constants.
struct Lifter {
  tj::Module& module;
  tj::Graph& graph;
  int next = 0;

  tj::Value* attr(tj::Node* before, const at::Tensor& t, const std::string& stem, int index) {
    std::string name = "_cvq_" + stem + std::to_string(index);
    module.register_parameter(name, t.contiguous(), false);
    tj::Node* ga = graph.createGetAttr(graph.inputs()[0], name);
    ga->insertBefore(before);
    return ga->output();
  }

  void replace(tj::Node* n, c10::Symbol kind, tj::Value* x, const at::Tensor& w, const c10::optional<at::Tensor>& b,
               const std::vector<tj::Value*>& extra) {
    int i = next++;
    std::vector<tj::Value*> in{x, attr(n, w, "w", i)};
    if (b) {
      in.push_back(attr(n, *b, "b", i));
    } else {
      tj::WithInsertPoint guard(n);
      in.push_back(graph.insertConstant(c10::IValue()));
    }
    in.insert(in.end(), extra.begin(), extra.end());
    tj::Node* r = graph.create(kind, in, 1);
    r->insertBefore(n);
    r->output()->setType(n->output()->type());
    n->output()->replaceAllUsesWith(r->output());
    n->destroy();
  }
};

// Folds branches on a tensor's rank (`if f.dim() == 4:`, as in cvtool's own classifier
// head): propagateQuantizationOps in 1.13 hoists quantized ops out of such a prim::If and
// then runs them on the other branch's shapes. Ranks come from one run of the graph on an
// example input (each top-level aten::dim read out as an extra output); sizes stay free.
void fold_rank_branches(tj::Module& module, const at::Tensor& example) {
  auto graph = module.get_method("forward").graph();
  if (graph->inputs().size() != 2) return;  // self + one tensor input
  std::vector<tj::Node*> dims;
  for (auto* n : graph->nodes())
    if (n->kind() == c10::Symbol::fromQualString("aten::dim")) dims.push_back(n);
  if (dims.empty()) return;
  auto probe = graph->copy();
  std::vector<tj::Value*> ranks;
  auto it = probe->nodes().begin();
  for (auto* n : graph->nodes()) {
    if (n->kind() == c10::Symbol::fromQualString("aten::dim")) ranks.push_back(it->output());
    ++it;
  }
  while (!probe->outputs().empty()) probe->eraseOutput(0);
  probe->registerOutput(probe->insertNode(probe->createTuple(ranks))->output());  // functions return one value
  tj::GraphFunction fn("rank_probe", probe, nullptr);
  tj::Stack stack{module._ivalue(), example};
  {
    torch::NoGradGuard no_grad;
    fn.run(stack);
  }
  const auto& found = stack.at(0).toTupleRef().elements();
  for (size_t i = 0; i < dims.size(); ++i) {
    tj::WithInsertPoint guard(dims[i]);
    dims[i]->output()->replaceAllUsesWith(graph->insertConstant(found.at(i).toInt()));
    dims[i]->destroy();
  }
  tj::ConstantPropagation(graph);
  tj::EliminateDeadCode(graph);
}

// Walks the frozen graph: lifts the weight ops the passes can quantize and lists the ones
// they cannot (with why).
std::vector<QuantOpInfo> lift_weight_ops(tj::Module& module, QuantMode mode) {
  auto graph = module.get_method("forward").graph();
  Lifter lift{module, *graph};
  std::vector<QuantOpInfo> ops;
  std::vector<tj::Node*> nodes;
  for (auto* n : graph->nodes()) nodes.push_back(n);  // stable: we rewrite while walking
  for (auto* n : nodes) {
    auto kind = n->kind().toQualString();
    std::string k = kind;
    if (k == "aten::_convolution" || k == "aten::conv2d" || k == "aten::conv1d" || k == "aten::conv3d" ||
        k == "aten::conv_transpose2d" || k == "aten::conv_transpose1d") {
      auto w = constant_tensor(n->input(1));
      if (!w) continue;  // weight computed at run time: not a layer
      c10::optional<at::Tensor> b;
      if (!is_none(n->input(2))) {
        b = constant_tensor(n->input(2));
        if (!b) continue;
      }
      bool transposed = k.find("transpose") != std::string::npos;
      if (k == "aten::_convolution") transposed = tj::toIValue(n->input(6)).value_or(c10::IValue(true)).toBool();
      QuantOpInfo info{transposed ? "conv_transpose" + std::to_string(w->dim() - 2) + "d"
                                  : "conv" + std::to_string(w->dim() - 2) + "d",
                       shape_of(*w), false, ""};
      if (transposed || w->dim() != 4) {
        info.reason = "no int8 route for " + info.op + " in LibTorch 1.13's graph-mode passes";
        // The passes would still pick up conv_transpose2d (and _convolution, which they
        // rewrite into it) and then fail at run time: onednn has no per-channel transposed
        // conv. As aten::convolution, which they do not match, it stays float.
        if (k == "aten::conv_transpose2d" || k == "aten::_convolution") {
          tj::WithInsertPoint guard(n);
          std::vector<tj::Value*> in;
          if (k == "aten::conv_transpose2d")  // (x, w, b, stride, padding, output_padding, groups, dilation)
            in = {n->input(0), n->input(1), n->input(2), n->input(3), n->input(4), n->input(7),
                  graph->insertConstant(true), n->input(5), n->input(6)};
          else  // (x, w, b, stride, padding, dilation, transposed, output_padding, groups, ...)
            in = {n->input(0), n->input(1), n->input(2), n->input(3), n->input(4), n->input(5), n->input(6), n->input(7), n->input(8)};
          tj::Node* r = graph->create(c10::Symbol::fromQualString("aten::convolution"), in, 1);
          r->insertBefore(n);
          r->output()->setType(n->output()->type());
          n->output()->replaceAllUsesWith(r->output());
          n->destroy();
        }
      } else if (mode == QuantMode::Dynamic) {
        info.reason = "dynamic int8 quantizes linear layers only (use static for convolutions)";
      } else {
        std::vector<tj::Value*> extra;
        if (k == "aten::_convolution") {
          extra = {n->input(3), n->input(4), n->input(5), n->input(8)};  // stride, padding, dilation, groups
        } else {
          for (size_t j = 3; j < n->inputs().size(); ++j) extra.push_back(n->input(j));
        }
        lift.replace(n, c10::Symbol::fromQualString("aten::conv2d"), n->input(0), *w, b, extra);
        info.quantized = true;  // provisional: checked after the passes
      }
      ops.push_back(info);
    } else if (k == "aten::linear" || k == "aten::matmul" || k == "aten::addmm" || k == "aten::mm") {
      bool is_linear = k == "aten::linear";
      bool is_addmm = k == "aten::addmm";
      auto w = constant_tensor(n->input(is_addmm ? 2 : 1));
      if (!w) continue;  // activation x activation: not a layer
      c10::optional<at::Tensor> b;
      if (is_linear && !is_none(n->input(2))) {
        b = constant_tensor(n->input(2));
        if (!b) continue;
      }
      if (is_addmm) {
        b = constant_tensor(n->input(0));
        auto alpha = tj::toIValue(n->input(4)), beta = tj::toIValue(n->input(3));
        if (!b || !alpha || !beta || alpha->toScalar().toDouble() != 1.0 || beta->toScalar().toDouble() != 1.0) continue;
      }
      at::Tensor weight = is_linear ? *w : w->t();  // matmul/addmm/mm hold W^T
      QuantOpInfo info{"linear", shape_of(weight), false, ""};
      if (weight.dim() != 2 || (!is_linear && b && b->dim() != 1)) {
        info.reason = "weight is not a 2-D matrix";
        ops.push_back(info);
        continue;
      }
      tj::Value* x = n->input(is_addmm ? 1 : 0);
      lift.replace(n, c10::Symbol::fromQualString("aten::linear"), x, weight, b, {});
      info.quantized = true;
      ops.push_back(info);
    }
  }
  return ops;
}

// After Finalize every quantized op's weight attribute has been folded into packed
// params; the ones still read from the graph stayed float.
void mark_float_leftovers(tj::Module& module, std::vector<QuantOpInfo>& ops, QuantMode mode) {
  auto graph = module.get_method("forward").graph();
  std::unordered_map<std::string, bool> still;
  for (auto* n : graph->nodes())
    if (n->kind() == c10::prim::GetAttr) still[n->s(c10::attr::name)] = true;
  int i = 0;
  for (auto& op : ops) {
    if (!op.quantized) continue;
    if (still.count("_cvq_w" + std::to_string(i))) {
      op.quantized = false;
      op.reason = "the " + to_string(mode) + " passes left it float (no matching quantized pattern)";
    }
    ++i;
  }
}

std::string refusal(const std::vector<QuantOpInfo>& ops, QuantMode mode) {
  std::string msg;
  for (const auto& op : ops)
    if (!op.quantized && !(mode == QuantMode::Dynamic && op.op == "conv2d"))
      msg += "\n  " + op.op + " (" + op.where + "): " + op.reason;
  return msg;
}

QuantizeModuleResult quantize_float16(tj::Module frozen) {
  QuantizeModuleResult r;
  auto graph = frozen.get_method("forward").graph();
  std::vector<tj::Node*> consts;
  for (auto* n : graph->nodes()) {
    auto t = constant_tensor(n->output());
    if (t && t->scalar_type() == at::kFloat && t->dim() >= 1 && t->numel() >= 2) consts.push_back(n);
  }
  for (auto* n : consts) {
    at::Tensor t = *constant_tensor(n->output());
    tj::WithInsertPoint guard(n);
    tj::Value* h = graph->insertConstant(t.to(at::kHalf));
    tj::Value* f = graph->insert(c10::Symbol::fromQualString("aten::to"), {h, c10::ScalarType::Float});
    f->setType(n->output()->type());
    n->output()->replaceAllUsesWith(f);
    n->destroy();
    r.ops.push_back({"constant", shape_of(t), true, ""});
  }
  r.module = frozen;
  return r;
}

}  // namespace

QuantizeModuleResult quantize_module(const torch::jit::Module& module, const QuantizeModuleOptions& options,
                                     const std::vector<torch::Tensor>& calibration) {
  tj::Module m = module.clone();
  m.eval();
  tj::Module frozen = tj::freeze(m);  // folds conv-bn, inlines submodules, weights become constants
  if (options.mode == QuantMode::Float16) return quantize_float16(frozen);

  set_quant_engine(options.engine);
  if (!calibration.empty()) {
    fold_rank_branches(frozen, calibration.front());
  }
  QuantizeModuleResult r;
  r.ops = lift_weight_ops(frozen, options.mode);
  int liftable = 0;
  for (const auto& op : r.ops) liftable += op.quantized ? 1 : 0;
  if (liftable == 0) {
    std::string what = options.mode == QuantMode::Dynamic ? "linear layer" : "conv2d or linear layer";
    throw Error(ErrorKind::Model, "quantize " + to_string(options.mode) + ": the model has no " + what +
                                      " with constant weights to quantize (" + std::to_string(r.ops.size()) +
                                      " weight ops found)" + refusal(r.ops, options.mode));
  }
  if (!options.allow_float_ops) {
    std::string msg = refusal(r.ops, options.mode);
    if (!msg.empty())
      throw Error(ErrorKind::Model, "quantize " + to_string(options.mode) +
                                        ": refusing, these ops cannot be quantized (pass --allow-float to keep them float):" + msg);
  }

  auto quant_type = options.mode == QuantMode::Dynamic ? tj::QuantType::DYNAMIC : tj::QuantType::STATIC;
  std::unordered_map<std::string, c10::optional<std::tuple<tj::Module, tj::Module>>> qconfig;
  tj::Module act = options.mode == QuantMode::Dynamic ? placeholder_observer() : activation_observer();
  qconfig[""] = std::make_tuple(act, weight_observer(options.per_channel));
  tj::Module observed = tj::InsertObservers(frozen, "forward", qconfig, /*inplace=*/false, quant_type);
  {
    torch::NoGradGuard no_grad;
    if (options.mode == QuantMode::Static && calibration.empty())
      throw Error(ErrorKind::Usage, "quantize static: needs calibration images");
    for (const auto& x : calibration) observed.forward({x});
  }
  tj::Module q = tj::InsertQuantDeQuant(observed, "forward", /*inplace=*/false, /*debug=*/false, quant_type);
  q = tj::Finalize(q, quant_type, {});
  auto graph = q.get_method("forward").graph();
  tj::ConstantPropagation(graph);
  tj::EliminateDeadCode(graph);
  mark_float_leftovers(q, r.ops, options.mode);
  if (!options.allow_float_ops) {
    std::string msg = refusal(r.ops, options.mode);
    if (!msg.empty())
      throw Error(ErrorKind::Model, "quantize " + to_string(options.mode) + ": refusing, these ops stayed float:" + msg);
  }
  for (auto* n : graph->nodes()) {
    std::string k = n->kind().toQualString();
    bool quantize = k == "aten::quantize_per_tensor";
    bool int8_op = k.rfind("quantized::", 0) == 0 && k.find("dynamic") == std::string::npos && n->inputs().size() >= 4;
    if (!quantize && !int8_op) continue;
    // quantize_per_tensor(x, scale, zp, dtype); quantized::conv2d(x, packed, scale, zp).
    auto s = tj::toIValue(n->input(quantize ? 1 : 2)), z = tj::toIValue(n->input(quantize ? 2 : 3));
    if (s && z && s->isDouble() && z->isInt())
      r.activation_qparams.push_back({quantize ? "quantize" : k, s->toDouble(), static_cast<long>(z->toInt())});
  }
  r.module = q;
  return r;
}

}  // namespace cvtool
