#include "models/batch_input.h"

namespace ag::models {

EncoderInput to_encoder_input(const data::Batch& b) {
  const Shape shape{b.batch_size, b.seq_len};
  return {{shape, b.input_ids}, {shape, b.attention_mask}, {shape, b.token_type_ids}};
}

}  // namespace ag::models
