// The runtime's stderr is also the container process's: runc passes its own
// stdio on to the process (without a terminal), and when it cannot start the
// process it prints its error there as the last line ("runc run failed: ...",
// "exec failed: ..."), beside the message mkimage reports from the runtime's
// log. RuntimeStderrFilter passes the process's output through at once and
// holds back only a line that may be that error, until it is known whether
// the runtime failed (then the line is dropped: one message, ours).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mkimage::builder {

class RuntimeStderrFilter {
public:
  // `runtime`: the runtime's name or path (its basename starts its messages).
  explicit RuntimeStderrFilter(std::string_view runtime);

  // The part of `chunk` (with what was held before) to pass on now.
  std::string feed(std::string_view chunk);
  // True while a possible error line is held back.
  bool holding() const { return !m_held.empty(); }
  // Gives up holding (the runtime still runs: the line was the process's).
  std::string flush();
  // At the runtime's exit: what is still held, unless it is the runtime's
  // error `runtime_error` (its log's message, as printed) — then "".
  std::string finish(const std::optional<std::string>& runtime_error);

private:
  std::vector<std::string> m_prefixes;
  std::string m_held;
  bool m_line_start = true;
};

}  // namespace mkimage::builder
