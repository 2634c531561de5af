#include "nn/precision.h"

#include <set>

#include "core/bf16_gemm.h"
#include "core/errors.h"
#include "core/machine/cpu_features.h"
#include "nn/dora.h"
#include "nn/inject.h"
#include "nn/layers.h"

namespace ag::nn {

const char* precision_name(Precision p) {
  return p == Precision::kBf16 ? "bf16" : "fp32";
}

PrecisionChoice resolve_precision(const std::string& asked) {
  if (asked != "fp32" && asked != "bf16" && asked != "auto")
    throw Error("--precision: '" + asked + "' is not fp32, bf16 or auto");
  if (asked == "fp32") return {Precision::kFp32, "fp32 (asked)"};
  const CpuFeatures cpu = detect_cpu_features();
  const std::string hardware = bf16_hardware(cpu);
  if (!bf16_gemm_built()) {
    if (asked == "bf16")
      throw Error("--precision bf16: this build has no oneDNN (install libdnnl-dev, rebuild)");
    return {Precision::kFp32, "fp32 (auto: this build has no oneDNN for bf16)"};
  }
  if (asked == "bf16")
    return {Precision::kBf16, hardware == "none"
                                  ? "bf16 (asked; this CPU has no bf16 hardware: emulated, slow)"
                                  : "bf16 (asked; " + hardware + ")"};
  if (bf16_pays_on(cpu)) return {Precision::kBf16, "bf16 (auto: " + hardware + ")"};
  return {Precision::kFp32, hardware == "none"
                                ? "fp32 (auto: no bf16 hardware)"
                                : "fp32 (auto: " + hardware + " without AMX runs bf16 slower)"};
}

int64_t use_bf16_weights(Module& model, FrozenFp32 frozen) {
  // The adapters' own A and B (Linear modules too) train in fp32; the tutorial's input-axis
  // DoRA forms W + s·B A from its base's fp32 values.
  std::set<const TensorImpl*> adapter_weights;
  std::set<const Linear*> keep_fp32;
  for (auto& [name, layer] : lora_layers(model)) {
    adapter_weights.insert({layer->lora_A().impl().get(), layer->lora_B().impl().get()});
    if (dynamic_cast<InputAxisDoraLinear*>(layer)) keep_fp32.insert(&layer->base_layer());
  }
  int64_t count = 0;
  for (auto& [name, module] : model.named_modules()) {
    auto* linear = dynamic_cast<Linear*>(module);
    if (linear == nullptr || adapter_weights.count(linear->weight.impl().get())) continue;
    attach_bf16_copy(linear->weight);
    if (frozen == FrozenFp32::kRelease && !linear->weight.requires_grad() &&
        !keep_fp32.count(linear))
      release_fp32_values(linear->weight);
    ++count;
  }
  return count;
}

void set_precision(Module& model, Precision p, FrozenFp32 frozen) {
  if (p == Precision::kBf16) use_bf16_weights(model, frozen);
}

}  // namespace ag::nn
