// The visitor idiom for std::visit over a std::variant: one lambda per
// alternative, e.g. std::visit(util::overloaded{[](const A&) {…}, [](const B&) {…}}, v).
#pragma once

namespace mkimage::util {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace mkimage::util
