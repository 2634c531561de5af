// LoRA and DoRA from scratch, read top to bottom: the program a learner starts with.
//
// It follows the PyTorch code of Sebastian Raschka's article "Improving LoRA: Implementing
// Weight-Decomposed Low-Rank Adaptation (DoRA) from Scratch", line for line where that code is
// right, written with nothing but adaptgrad's public differentiable ops (matmul, add, scale,
// dropout, row_l2_norm, ...). Then it checks the result against the library's fused kernels
// (lora_linear, dora_linear) and times both. It exits 1 if any check fails; ctest runs it.
//
//   build/bin/lora_from_scratch
//
// Where this code differs from the article's, on purpose (each is what the LoRA and DoRA papers
// and PEFT do):
//   - scaling alpha / r instead of alpha (same initial step for any rank);
//   - the dropout the article declares (0.05) is applied, on the LoRA branch's input;
//   - DoRA has one magnitude per OUTPUT row of W + s·ΔW, not one per input column;
//   - the down-projection A is random and the up-projection B zero (the article's code does
//     this too; its prose says the opposite).
#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "apps/common/app_util.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"
#include "models/classifier_factory.h"
#include "models/encoder.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "nn/optim.h"

using namespace ag;

// --- 1. The modules ------------------------------------------------------------------------

// The low-rank update s·(x A) B. Layout as in the article: A (in, r), B (r, out), so x @ A @ B
// reads left to right. PEFT stores the same matrices as nn.Linear weights, transposed:
// lora_A.weight = Aᵀ (r, in) and lora_B.weight = Bᵀ (out, r), and computes lora_B(lora_A(x)).
class LoRALayer : public nn::Module {
 public:
  LoRALayer(int64_t in_dim, int64_t out_dim, int64_t rank, float alpha, float dropout)
      : Module("LoRALayer"), scaling(alpha / float(rank)), dropout_p(dropout) {
    // A = randn · 1/√r as the article (PEFT draws A from kaiming-uniform); B = 0, so the wrapped
    // layer starts out exactly as the pretrained one.
    A = register_parameter("A", Tensor::empty({in_dim, rank}));
    fill_normal(A, 0.0f, 1.0f / std::sqrt(float(rank)));
    B = register_parameter("B", Tensor::zeros({rank, out_dim}));
  }
  Tensor forward(const Tensor& x) override {
    // x (..., in): flatten the batch and token dimensions into rows for the 2-D matmul.
    Tensor rows = reshape(dropout(x, dropout_p, is_training()), {-1, A.size(0)});  // (M, in)
    Tensor low_rank = matmul(matmul(rows, A), B);  // (M, in)(in, r) -> (M, r); (M, r)(r, out)
    Shape shape = x.shape();
    shape.back() = B.size(1);
    return reshape(scale(low_rank, scaling), shape);  // (..., out)
  }
  Tensor A, B;
  float scaling;  // alpha / r (the article: alpha)
  float dropout_p;
};

// y = linear(x) + lora(x) = x Wᵀ + b + s·(drop(x) A) B. The pretrained layer stays frozen.
class LinearWithLoRA : public nn::Module {
 public:
  LinearWithLoRA(std::shared_ptr<nn::Linear> base, int64_t rank, float alpha, float dropout,
                 std::string type_name = "LinearWithLoRA")
      : Module(std::move(type_name)), linear(std::move(base)) {
    lora = std::make_shared<LoRALayer>(linear->in_features(), linear->out_features(), rank, alpha,
                                       dropout);
    register_module("linear", linear);
    register_module("lora", lora);
  }
  Tensor forward(const Tensor& x) override { return add(linear->forward(x), lora->forward(x)); }
  std::shared_ptr<nn::Linear> linear;
  std::shared_ptr<LoRALayer> lora;
};

// DoRA (Liu et al. 2024): the adapted weight split into a direction, the rows of W + s·ΔW
// scaled to unit length, and a trained length m per output row:
//   W' = m ⊙ (W + s·ΔW) / ‖W + s·ΔW‖_row,   ΔW = (A B)ᵀ (out, in)
// The article's code takes weight.norm(p=2, dim=0): one norm and magnitude per INPUT column
// instead, and scales by alpha instead of alpha / r.
// The norm is treated as a constant in backward (detach), as the paper and PEFT do:
// this saves memory and time and barely changes training. Scaling row i of a weight scales
// output i, so F.linear(x, W') = (m / n) ⊙ (x (W + s·ΔW)ᵀ): no W' is formed.
// With dropout, x (W + s·ΔW)ᵀ becomes x Wᵀ + s·(drop(x) A) B: dropout acts on the low-rank
// branch alone, as in LoRA. This is `train --dora-dropout branch`, not train's default: PEFT's
// formula, which also drops the input of a correction term x Wᵀ·(m/n − 1) and so needs one more
// full GEMM each way while training (the two agree in eval mode).
// DoRA keeps LoRA's children (linear, lora) and adds m, so it extends LinearWithLoRA.
class LinearWithDoRA : public LinearWithLoRA {
 public:
  LinearWithDoRA(std::shared_ptr<nn::Linear> base, int64_t rank, float alpha, float dropout)
      : LinearWithLoRA(std::move(base), rank, alpha, dropout, "LinearWithDoRA") {
    // m starts at ‖W_i‖ (out): with B = 0 the layer again starts as the pretrained one.
    m = register_parameter("m", row_l2_norm(linear->weight).clone());
  }
  Tensor forward(const Tensor& x) override {
    Tensor delta = transpose2d(matmul(lora->A, lora->B));  // (in, r)(r, out) -> (out, in)
    Tensor adapted = add(linear->weight, scale(delta, lora->scaling));       // W + s·ΔW (out, in)
    Tensor norm = row_l2_norm(adapted).detach();                             // (out), no gradient
    Tensor combined = add(ag::linear(x, linear->weight), lora->forward(x));  // (..., out)
    return add(mul(combined, div(m, norm)), linear->bias);  // (m / n) broadcast over rows
  }
  Tensor m;
};

// --- helpers for the checks ------------------------------------------------------------------

// Throws unless max |got − want| <= tolerance · max |want|; prints the measured error.
void expect_close(const std::string& what, const Tensor& got, const Tensor& want,
                  double tolerance) {
  if (got.shape() != want.shape())
    throw Error(what + ": shape " + to_string(got.shape()) + " != " + to_string(want.shape()));
  double diff = 0.0, largest = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    diff = std::max(diff, double(std::abs(got.data()[i] - want.data()[i])));
    largest = std::max(largest, double(std::abs(want.data()[i])));
  }
  std::ostringstream measured;
  measured << "max |diff| / max |value| = " << diff / std::max(largest, 1e-30);
  std::cout << "  " << what << ": " << measured.str() << "\n";
  if (!(diff <= tolerance * largest)) {
    std::ostringstream message;
    message << what << ": the from-scratch module and the fused kernel differ (" << measured.str()
            << ", allowed " << tolerance << ")";
    throw Error(message.str());
  }
}

// Median wall time in milliseconds of `reps` runs of `f`.
double median_ms(int reps, const std::function<void()>& f) {
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const double start = apps::now_seconds();
    f();
    times.push_back(1e3 * (apps::now_seconds() - start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int main(int argc, char** argv) {
  apps::start_app(argv);  // as every app: the BLAS kernel check, which may restart the program
  return apps::run_guarded([&] {
    // No flags: the program is read, then run as it is. --help says so instead of running.
    CLI::App app{
        "LoRA and DoRA from scratch on a tiny random DistilBERT, checked against the fused "
        "kernels (apps/lora_from_scratch/main.cpp; exits 1 if a check fails). No flags."};
    if (auto done = apps::parse_arguments(app, argc, argv)) return *done;
    manual_seed(0);

    // --- 2. A tiny DistilBERT, randomly initialised as transformers does ---------------------
    models::EncoderConfig config;
    config.model_type = "distilbert";
    config.vocab_size = 100;
    config.hidden = 32;  // dim
    config.layers = 2;
    config.heads = 4;
    config.intermediate = 64;  // hidden_dim
    config.max_positions = 64;
    config.initializer_range = 0.2f;  // as the tiny test checkpoints: logits far from 0
    std::shared_ptr<models::SequenceClassifier> model = models::make_classifier(config);

    // --- 3. Freeze it, then wrap q_lin and v_lin of every layer, as the article ------------
    const int64_t rank = 8;
    const float alpha = 16.0f, lora_dropout = 0.05f;
    // for param in model.parameters(): param.requires_grad = False
    for (const Tensor& param : model->parameters()) param.set_requires_grad(false);
    // assign_lora = partial(LinearWithLoRA, rank=8, alpha=16)
    auto assign_lora = [&](const std::shared_ptr<nn::Module>& module) {
      auto linear = std::dynamic_pointer_cast<nn::Linear>(module);
      if (!linear) throw Error("assign_lora: expected a Linear, got " + module->type_name());
      return std::make_shared<LinearWithLoRA>(linear, rank, alpha, lora_dropout);
    };
    for (const auto& [index, layer] :
         model->find_module("distilbert.transformer.layer")->children()) {
      // layer.attention.q_lin = assign_lora(layer.attention.q_lin), and the same for v_lin
      nn::Module& attention = *layer->child("attention");
      attention.replace_module("q_lin", assign_lora(attention.child("q_lin")));
      attention.replace_module("v_lin", assign_lora(attention.child("v_lin")));
    }
    for (const auto& [name, param] : model->named_parameters())
      std::cout << name << ": " << (param.requires_grad() ? "True" : "False") << "\n";
    std::cout << nn::trainable_parameters_line(*model) << "\n";  // PEFT's count line
    // Only A (in, r) and B (r, out) of q_lin and v_lin train: 2 per layer, r·(in + out) each.
    const int64_t expected = config.layers * 2 * rank * (2 * config.hidden);
    if (nn::count_parameters(*model).trainable != expected)
      throw Error("expected " + std::to_string(expected) + " trainable parameters");

    // --- 4. A few training steps on one fixed batch (random token ids and labels) ---------
    const int64_t batch = 8, tokens = 16;
    models::EncoderInput input;
    input.input_ids = {{batch, tokens}, std::vector<int32_t>(batch * tokens)};
    input.attention_mask = {{batch, tokens}, std::vector<int32_t>(batch * tokens, 1)};
    for (int64_t i = 0; i < batch * tokens; ++i)
      input.input_ids.values[i] = 1 + int32_t(random_bits(7, i) % (config.vocab_size - 1));
    Indices labels{{batch}, {0, 1, 0, 1, 1, 0, 1, 0}};
    model->train();
    nn::AdamW optimizer(model->trainable_parameters(), {.lr = 1e-2f});
    std::vector<float> losses;
    for (int step = 1; step <= 10; ++step) {
      Tensor loss = cross_entropy(model->forward(input), labels);  // forward and loss
      optimizer.zero_grad();
      loss.backward();  // gradients reach A and B only: nothing else requires them
      optimizer.step();
      losses.push_back(loss.item());
      std::cout << "step " << step << "  loss " << loss.item() << "\n";
    }
    // Dropout (0.1 in the model, 0.05 on the adapters) makes single steps noisy; the trend is down.
    if (!(losses.back() < losses.front()))
      throw Error("the loss did not go down in 10 steps on one batch");

    // --- 5. The same math as the fused kernels, on DistilBERT-base's q_lin shape -----------
    // lora_linear and dora_linear (core/ops.h) compute these layers in one op each, forward and
    // backward, with PEFT's layout (A (r, in), B (out, r)): we hand them Aᵀ and Bᵀ. They take
    // three things the modules above keep to themselves:
    //   - AdapterDropout{p, seed}: the modules call dropout(), which draws its mask's seed from
    //     the global generator (next_seed(), core/rng.h); a fused op is handed a seed instead.
    //     Both sides start from the same generator state, so they draw the same mask.
    //   - DoraOperands: W, b, A, B, m, s by name, and ‖W_i‖² per row, which the op reads instead
    //     of recomputing it (W is frozen: nn::DoraLinear computes it once and keeps it).
    //   - DoraDropout::kBranch: LinearWithDoRA's dropout on the low-rank branch alone (train's
    //     default is DoraDropout::kPeft, PEFT's formula).
    // B gets random values, as after some training, so every term is non-zero.
    const int64_t hidden = 768, rows = 8 * 128;
    auto base = std::make_shared<nn::Linear>(hidden, hidden);
    base->weight.set_requires_grad(false);
    base->bias.set_requires_grad(false);
    Tensor x = Tensor::empty({rows, hidden});
    fill_normal(x, 0.0f, 1.0f);
    x.set_requires_grad(true);
    Tensor output_grad = Tensor::empty({rows, hidden});
    fill_normal(output_grad, 0.0f, 1.0f);
    LinearWithLoRA lora_layer(base, rank, alpha, lora_dropout);
    LinearWithDoRA dora_layer(base, rank, alpha, lora_dropout);
    const LoRALayer &lora_adapter = *lora_layer.lora, &dora_adapter = *dora_layer.lora;
    fill_normal(lora_adapter.B, 0.0f, 0.02f);
    fill_normal(dora_adapter.B, 0.0f, 0.02f);
    const Tensor w_norms = row_l2_norm(base->weight);
    const Tensor w_sq = mul(w_norms, w_norms);  // ‖W_i‖² (out)

    // The fused ops' dropout: the next seed of the global generator, as ag::dropout draws it.
    auto same_dropout = [&] {
      AdapterDropout drop;
      drop.p = lora_dropout;
      drop.seed = next_seed();
      return drop;
    };
    auto from_scratch_lora = [&] { return lora_layer.forward(x); };
    auto fused_lora = [&] {
      return lora_linear(x, base->weight, base->bias, transpose2d(lora_adapter.A),
                         transpose2d(lora_adapter.B), lora_adapter.scaling, same_dropout());
    };
    auto from_scratch_dora = [&] { return dora_layer.forward(x); };
    auto fused_dora = [&] {
      const DoraOperands operands{.weight = base->weight,
                                  .bias = base->bias,
                                  .lora_a = transpose2d(dora_adapter.A),
                                  .lora_b = transpose2d(dora_adapter.B),
                                  .magnitude = dora_layer.m,
                                  .weight_row_sq_norms = w_sq,
                                  .scaling = dora_adapter.scaling};
      return dora_linear(x, operands, same_dropout(), {.dropout_formula = DoraDropout::kBranch});
    };
    // Forward from dropout seed 1, backward from output_grad: y, then the gradient of each of
    // `params`.
    auto run = [&](const std::function<Tensor()>& forward, const std::vector<Tensor>& params) {
      for (const Tensor& t : params) t.zero_grad();
      manual_seed(1);
      Tensor y = forward();
      y.backward(output_grad);
      std::vector<Tensor> out{y.detach()};
      for (const Tensor& t : params) out.push_back(t.grad().clone());
      return out;
    };
    // Tolerance: both sides add the same float32 products in a different order (768-term dot
    // products, ~√768 · 6e-8 ≈ 2e-6 of the largest value); 1e-5 leaves a margin, while a wrong
    // scale, mask or transposition would be off by far more.
    auto compare = [&](const std::string& title, const std::function<Tensor()>& ours,
                       const std::function<Tensor()>& fused, const std::vector<Tensor>& params) {
      std::cout << title << " (x " << to_string(x.shape()) << "):\n";
      const char* names[] = {"y", "dL/dx", "dL/dA", "dL/dB", "dL/dm"};
      const auto want = run(fused, params), got = run(ours, params);
      for (size_t i = 0; i < want.size(); ++i) expect_close(names[i], got[i], want[i], 1e-5);
    };
    compare("LoRA from scratch vs lora_linear", from_scratch_lora, fused_lora,
            {x, lora_adapter.A, lora_adapter.B});
    compare("DoRA from scratch vs dora_linear", from_scratch_dora, fused_dora,
            {x, dora_adapter.A, dora_adapter.B, dora_layer.m});

    // --- 6. Time forward + backward: from scratch against fused ----------------------------
    // Wall-clock medians: on a machine busy with other work, run it again before comparing.
    auto step_ms = [&](const std::function<Tensor()>& forward) {
      forward().backward(output_grad);  // warm-up (buffers, threads)
      return median_ms(5, [&] { forward().backward(output_grad); });
    };
    auto time_both = [&](const std::string& method, const std::function<Tensor()>& ours,
                         const std::function<Tensor()>& fused, const std::string& kernel) {
      const double ours_ms = step_ms(ours), fused_ms = step_ms(fused);
      std::cout << std::fixed << std::setprecision(1) << method
                << " forward + backward, median of 5: from scratch " << ours_ms << " ms, " << kernel
                << " " << fused_ms << " ms (" << std::setprecision(2) << ours_ms / fused_ms
                << "x)\n"
                << std::defaultfloat;
    };
    time_both("LoRA", from_scratch_lora, fused_lora, "lora_linear");
    time_both("DoRA", from_scratch_dora, fused_dora, "dora_linear");
    return 0;
  });
}
