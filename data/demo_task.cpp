#include "data/demo_task.h"

#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

#include "data/random.h"

namespace ag::data {

namespace {

constexpr std::array<std::string_view, 12> kSubjects = {
    "the movie",      "the film",   "the acting",   "the plot", "the story",
    "the soundtrack", "the ending", "the dialogue", "the cast", "the director 's work",
    "the script",     "this show"};
constexpr std::array<std::string_view, 16> kPositive = {
    "wonderful", "brilliant", "moving",   "delightful", "charming", "gripping",
    "funny",     "beautiful", "clever",   "touching",   "superb",   "engaging",
    "fresh",     "heartfelt", "stunning", "enjoyable"};
constexpr std::array<std::string_view, 16> kNegative = {
    "boring",   "dull",        "clumsy", "tedious",     "awful",   "predictable",
    "bland",    "forgettable", "silly",  "pretentious", "shallow", "lifeless",
    "annoying", "messy",       "flat",   "painful"};
constexpr std::array<std::string_view, 6> kIntensifiers = {"",        "truly ", "very ",
                                                           "rather ", "quite ", "really "};

template <std::size_t N>
std::string_view pick(const std::array<std::string_view, N>& words, SplitMix64& rng) {
  return words[rng.below(N)];
}

std::string_view adjective(bool positive, SplitMix64& rng) {
  return positive ? pick(kPositive, rng) : pick(kNegative, rng);
}

// One sentence whose sentiment is `positive`.
std::string make_sentence(bool positive, SplitMix64& rng) {
  std::string s;
  const std::string_view subject = pick(kSubjects, rng);
  switch (rng.below(4)) {
    case 0:  // plain: "the plot was really clever ."
      s.append(subject)
          .append(" was ")
          .append(pick(kIntensifiers, rng))
          .append(adjective(positive, rng));
      break;
    case 1:  // negated opposite: "the cast was not awful at all ."
      s.append(subject).append(" was not ").append(adjective(!positive, rng)).append(" at all");
      break;
    case 2:  // contrast, the second clause decides: "the ending starts dull , but ends moving ."
      s.append(subject).append(" starts ").append(adjective(!positive, rng));
      s.append(" , but ends ").append(adjective(positive, rng));
      break;
    default:  // first person: "i found the script quite tedious ."
      s.append("i found ").append(subject).append(" ").append(pick(kIntensifiers, rng));
      s.append(adjective(positive, rng));
      break;
  }
  return s.append(" .");
}

}  // namespace

Dataset make_synthetic_sentiment(int64_t count, uint64_t seed) {
  if (count <= 0) throw std::invalid_argument("the synthetic task needs a positive count");
  Dataset dataset;
  dataset.source = kSyntheticSentimentSource;
  dataset.labels = LabelMap({"negative", "positive"});
  SplitMix64 rng(derive_seed(seed, 0x5E17));
  dataset.examples.reserve(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const bool positive = i % 2 == 1;
    dataset.examples.push_back({make_sentence(positive, rng), "", positive ? 1 : 0, 0});
  }
  return dataset;
}

}  // namespace ag::data
