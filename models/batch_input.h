// A padded batch from the data loader as the model's input.
#pragma once

#include "data/data_loader.h"
#include "models/encoder.h"

namespace ag::models {

// The batch's token ids, attention mask and token types, each (batch_size, seq_len).
EncoderInput to_encoder_input(const data::Batch& batch);

}  // namespace ag::models
