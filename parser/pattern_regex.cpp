// Parser (RE2 syntax subset) + Thompson-NFA matcher for parser/pattern_regex.hpp.
// Only a yes/no answer is needed, so the NFA simulation ignores match priorities.
#include "parser/pattern_regex.hpp"

#include <algorithm>
#include <functional>

namespace mkimage::parser::detail {

namespace {

constexpr int32_t k_max_rune = 0x10FFFF;

std::vector<int32_t> decode(std::string_view s) {
  std::vector<int32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b0 = static_cast<unsigned char>(s[i]);
    int n = b0 < 0x80 ? 1 : (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3
                            : (b0 & 0xF8) == 0xF0 ? 4 : 0;
    int32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr int32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < k_min[n] || cp > k_max_rune || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

using Ranges = std::vector<Regex::Range>;

Ranges normalise(Ranges r) {
  std::sort(r.begin(), r.end(), [](auto& a, auto& b) { return a.lo < b.lo; });
  Ranges out;
  for (auto& x : r) {
    if (!out.empty() && x.lo <= out.back().hi + 1) {
      out.back().hi = std::max(out.back().hi, x.hi);
    } else {
      out.push_back(x);
    }
  }
  return out;
}

Ranges negate(const Ranges& in) {
  Ranges r = normalise(in), out;
  int32_t next = 0;
  for (auto& x : r) {
    if (x.lo > next) out.push_back({next, x.lo - 1});
    next = x.hi + 1;
  }
  if (next <= k_max_rune) out.push_back({next, k_max_rune});
  return out;
}

bool in_ranges(const Ranges& r, int32_t c) {
  for (auto& x : r) {
    if (c >= x.lo && c <= x.hi) return true;
  }
  return false;
}

bool is_word(int32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool perl_class(int32_t c, Ranges* out) {
  Ranges r;
  switch (c) {
    case 'd': case 'D': r = {{'0', '9'}}; break;
    case 's': case 'S': r = {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}; break;
    case 'w': case 'W': r = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
    default: return false;
  }
  if (c == 'D' || c == 'S' || c == 'W') r = negate(r);
  out->insert(out->end(), r.begin(), r.end());
  return true;
}

bool posix_class(const std::string& name, Ranges* out) {
  static const std::vector<std::pair<std::string, Ranges>> k_classes = {
      {"alnum", {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}},
      {"alpha", {{'A', 'Z'}, {'a', 'z'}}},
      {"ascii", {{0, 0x7F}}},
      {"blank", {{'\t', '\t'}, {' ', ' '}}},
      {"cntrl", {{0, 0x1F}, {0x7F, 0x7F}}},
      {"digit", {{'0', '9'}}},
      {"graph", {{'!', '~'}}},
      {"lower", {{'a', 'z'}}},
      {"print", {{' ', '~'}}},
      {"punct", {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}},
      {"space", {{'\t', '\r'}, {' ', ' '}}},
      {"upper", {{'A', 'Z'}}},
      {"word", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}},
      {"xdigit", {{'0', '9'}, {'A', 'F'}, {'a', 'f'}}},
  };
  bool neg = !name.empty() && name[0] == '^';
  std::string base = neg ? name.substr(1) : name;
  for (auto& [n, r] : k_classes) {
    if (n == base) {
      Ranges add = neg ? negate(r) : r;
      out->insert(out->end(), add.begin(), add.end());
      return true;
    }
  }
  return false;
}

struct Node {
  enum Kind { empty, chars, any, concat, alt, star, plus, quest, assertion } kind = empty;
  Ranges ranges;
  std::vector<Node> kids;
  Regex::Inst::Op op = Regex::Inst::match;
};

class Parser {
public:
  explicit Parser(std::string_view expr) : m_r(decode(expr)) {}

  util::Result<Node> parse() {
    auto n = parse_alt();
    if (!n.ok()) return n;
    if (m_pos < m_r.size()) return util::Error{"unexpected )"};
    return n;
  }

private:
  bool at_end() const { return m_pos >= m_r.size(); }
  int32_t peek(size_t ahead = 0) const {
    return m_pos + ahead < m_r.size() ? m_r[m_pos + ahead] : -1;
  }

  util::Result<Node> parse_alt() {
    std::vector<Node> alts;
    for (;;) {
      auto c = parse_concat();
      if (!c.ok()) return c;
      alts.push_back(std::move(*c));
      if (peek() != '|') break;
      ++m_pos;
    }
    if (alts.size() == 1) return std::move(alts[0]);
    Node n;
    n.kind = Node::alt;
    n.kids = std::move(alts);
    return n;
  }

  util::Result<Node> parse_concat() {
    Node seq;
    seq.kind = Node::concat;
    while (!at_end() && peek() != '|' && peek() != ')') {
      int32_t c = peek();
      if (c == '*' || c == '+' || c == '?') {
        return util::Error{"missing argument to repetition operator: `" + std::string(1, char(c)) + "`"};
      }
      auto atom = parse_atom();
      if (!atom.ok()) return atom;
      Node cur = std::move(*atom);
      c = peek();
      if (c == '*' || c == '+' || c == '?') {
        ++m_pos;
        if (peek() == '?') ++m_pos;  // lazy: same yes/no answer
        int32_t d = peek();
        if (d == '*' || d == '+' || d == '?') return util::Error{"invalid nested repetition operator"};
        Node rep;
        rep.kind = c == '*' ? Node::star : c == '+' ? Node::plus : Node::quest;
        rep.kids.push_back(std::move(cur));
        cur = std::move(rep);
      }
      seq.kids.push_back(std::move(cur));
    }
    return seq;
  }

  Node assertion(Regex::Inst::Op op) {
    Node n;
    n.kind = Node::assertion;
    n.op = op;
    return n;
  }
  Node literal(int32_t c) {
    Node n;
    n.kind = Node::chars;
    n.ranges = {{c, c}};
    return n;
  }

  util::Result<Node> parse_atom() {
    int32_t c = m_r[m_pos++];
    switch (c) {
      case '(': {
        if (peek() == '?') return util::Error{"unsupported group flags"};
        auto inner = parse_alt();
        if (!inner.ok()) return inner;
        if (peek() != ')') return util::Error{"missing closing )"};
        ++m_pos;
        return inner;
      }
      case '[': return parse_class();
      case '.': {
        Node n;
        n.kind = Node::any;
        return n;
      }
      case '^': return assertion(Regex::Inst::begin_text);
      case '$': return assertion(Regex::Inst::end_text);
      case '\\': return parse_escape_atom();
      default: return literal(c);
    }
  }

  util::Result<Node> parse_escape_atom() {
    int32_t c = peek();
    switch (c) {
      case 'A': ++m_pos; return assertion(Regex::Inst::begin_text);
      case 'z': ++m_pos; return assertion(Regex::Inst::end_text);
      case 'b': ++m_pos; return assertion(Regex::Inst::word_boundary);
      case 'B': ++m_pos; return assertion(Regex::Inst::no_word_boundary);
      case 'Q': {
        ++m_pos;
        Node seq;
        seq.kind = Node::concat;
        while (!at_end() && !(peek() == '\\' && peek(1) == 'E')) seq.kids.push_back(literal(m_r[m_pos++]));
        if (!at_end()) m_pos += 2;
        return seq;
      }
      default: break;
    }
    Node n;
    n.kind = Node::chars;
    if (perl_class(c, &n.ranges)) {
      ++m_pos;
      n.ranges = normalise(n.ranges);
      return n;
    }
    auto r = parse_escape_char();
    if (!r.ok()) return r.error();
    return literal(*r);
  }

  // After a backslash: one escaped character.
  util::Result<int32_t> parse_escape_char() {
    if (at_end()) return util::Error{"trailing backslash at end of expression"};
    int32_t c = m_r[m_pos++];
    auto octal = [&](int32_t c) { return c >= '0' && c <= '7'; };
    if ((c >= '1' && c <= '7' && octal(peek())) || c == '0') {
      int32_t v = c - '0';
      for (int i = 1; i < 3 && octal(peek()); ++i) v = v * 8 + (m_r[m_pos++] - '0');
      return v;
    }
    auto hexval = [](int32_t c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                            : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    };
    switch (c) {
      case 'x': {
        if (peek() == '{') {
          ++m_pos;
          int32_t v = 0;
          int digits = 0;
          while (hexval(peek()) >= 0 && v <= k_max_rune) v = v * 16 + hexval(m_r[m_pos++]), ++digits;
          if (peek() != '}' || digits == 0 || v > k_max_rune) return util::Error{"invalid escape sequence"};
          ++m_pos;
          return v;
        }
        if (hexval(peek()) < 0 || hexval(peek(1)) < 0) return util::Error{"invalid escape sequence"};
        int32_t v = hexval(m_r[m_pos]) * 16 + hexval(m_r[m_pos + 1]);
        m_pos += 2;
        return v;
      }
      case 'a': return int32_t{7};
      case 'f': return int32_t{12};
      case 'n': return int32_t{10};
      case 'r': return int32_t{13};
      case 't': return int32_t{9};
      case 'v': return int32_t{11};
      default: break;
    }
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0x80 && !alnum) return c;
    return util::Error{"invalid escape sequence"};
  }

  util::Result<Node> parse_class() {
    Node n;
    n.kind = Node::chars;
    bool negated = false;
    if (peek() == '^') {
      negated = true;
      ++m_pos;
    }
    bool first = true;
    for (;;) {
      if (at_end()) return util::Error{"missing closing ]"};
      int32_t c = peek();
      if (c == ']' && !first) {
        ++m_pos;
        break;
      }
      first = false;
      if (c == '[' && peek(1) == ':') {
        size_t end = m_pos + 2;
        while (end + 1 < m_r.size() && !(m_r[end] == ':' && m_r[end + 1] == ']')) ++end;
        if (end + 1 < m_r.size()) {
          std::string name;
          for (size_t i = m_pos + 2; i < end; ++i) name += static_cast<char>(m_r[i] < 0x80 ? m_r[i] : '?');
          if (!posix_class(name, &n.ranges)) return util::Error{"invalid character class range"};
          m_pos = end + 2;
          continue;
        }
      }
      if (c == '\\' && perl_class(peek(1), &n.ranges)) {
        m_pos += 2;
        continue;
      }
      if (c == '\\' && (peek(1) == 'p' || peek(1) == 'P')) {
        return util::Error{"unsupported Unicode class"};
      }
      auto lo = class_char();
      if (!lo.ok()) return lo.error();
      int32_t hi = *lo;
      if (peek() == '-' && m_pos + 1 < m_r.size() && m_r[m_pos + 1] != ']') {
        ++m_pos;
        auto h = class_char();
        if (!h.ok()) return h.error();
        hi = *h;
        if (hi < *lo) return util::Error{"invalid character class range"};
      }
      n.ranges.push_back({*lo, hi});
    }
    n.ranges = negated ? negate(n.ranges) : normalise(n.ranges);
    return n;
  }

  util::Result<int32_t> class_char() {
    int32_t c = m_r[m_pos++];
    if (c == '\\') return parse_escape_char();
    return c;
  }

  std::vector<int32_t> m_r;
  size_t m_pos = 0;
};

}  // namespace

class RegexCompiler {
public:
  explicit RegexCompiler(std::vector<Regex::Inst>& prog) : m_prog(prog) {}

  void emit(const Node& n) {
    using Inst = Regex::Inst;
    switch (n.kind) {
      case Node::empty: break;
      case Node::chars: m_prog.push_back({Inst::chars, n.ranges}); break;
      case Node::any: m_prog.push_back({Inst::any_not_nl, {}}); break;
      case Node::assertion: m_prog.push_back({n.op, {}}); break;
      case Node::concat:
        for (auto& k : n.kids) emit(k);
        break;
      case Node::alt: {
        std::vector<size_t> jumps;
        for (size_t i = 0; i < n.kids.size(); ++i) {
          size_t split = 0;
          bool last = i + 1 == n.kids.size();
          if (!last) {
            split = m_prog.size();
            m_prog.push_back({Inst::split, {}});
            m_prog[split].x = static_cast<int>(split + 1);
          }
          emit(n.kids[i]);
          if (!last) {
            jumps.push_back(m_prog.size());
            m_prog.push_back({Inst::jmp, {}});
            m_prog[split].y = static_cast<int>(m_prog.size());
          }
        }
        for (size_t j : jumps) m_prog[j].x = static_cast<int>(m_prog.size());
        break;
      }
      case Node::star: {
        size_t split = m_prog.size();
        m_prog.push_back({Inst::split, {}});
        emit(n.kids[0]);
        m_prog.push_back({Inst::jmp, {}, static_cast<int>(split)});
        m_prog[split].x = static_cast<int>(split + 1);
        m_prog[split].y = static_cast<int>(m_prog.size());
        break;
      }
      case Node::plus: {
        size_t start = m_prog.size();
        emit(n.kids[0]);
        m_prog.push_back({Inst::split, {}, static_cast<int>(start), static_cast<int>(m_prog.size() + 1)});
        break;
      }
      case Node::quest: {
        size_t split = m_prog.size();
        m_prog.push_back({Inst::split, {}});
        emit(n.kids[0]);
        m_prog[split].x = static_cast<int>(split + 1);
        m_prog[split].y = static_cast<int>(m_prog.size());
        break;
      }
    }
  }

private:
  std::vector<Regex::Inst>& m_prog;
};

util::Result<Regex> Regex::compile(std::string_view expr) {
  Parser parser(expr);
  auto ast = parser.parse();
  if (!ast.ok()) return util::Error{"error parsing regexp: " + ast.error().message + ": `" + std::string(expr) + "`"};
  Regex re;
  RegexCompiler c(re.m_prog);
  c.emit(*ast);
  re.m_prog.push_back({Inst::match, {}});
  re.m_start = 0;
  return re;
}

bool Regex::search(std::string_view text) const {
  std::vector<int32_t> r = decode(text);
  size_t n = r.size();
  std::vector<size_t> seen(m_prog.size(), SIZE_MAX);
  std::vector<int> cur, next;
  bool matched = false;

  std::function<void(int, size_t, std::vector<int>&)> add = [&](int pc, size_t pos,
                                                                 std::vector<int>& list) {
    if (seen[pc] == pos) return;
    seen[pc] = pos;
    const Inst& in = m_prog[pc];
    switch (in.op) {
      case Inst::match: matched = true; break;
      case Inst::chars:
      case Inst::any_not_nl: list.push_back(pc); break;
      case Inst::jmp: add(in.x, pos, list); break;
      case Inst::split:
        add(in.x, pos, list);
        add(in.y, pos, list);
        break;
      case Inst::begin_text:
        if (pos == 0) add(pc + 1, pos, list);
        break;
      case Inst::end_text:
        if (pos == n) add(pc + 1, pos, list);
        break;
      case Inst::word_boundary:
      case Inst::no_word_boundary: {
        bool before = pos > 0 && is_word(r[pos - 1]);
        bool after = pos < n && is_word(r[pos]);
        if ((before != after) == (in.op == Inst::word_boundary)) add(pc + 1, pos, list);
        break;
      }
    }
  };

  add(m_start, 0, cur);
  for (size_t pos = 0;; ++pos) {
    if (matched) return true;
    if (pos == n) return false;
    next.clear();
    int32_t c = r[pos];
    for (int pc : cur) {
      const Inst& in = m_prog[pc];
      bool ok = in.op == Inst::any_not_nl ? c != '\n' : in_ranges(in.ranges, c);
      if (ok) add(pc + 1, pos + 1, next);
    }
    add(m_start, pos + 1, next);  // unanchored: a match may start anywhere
    std::swap(cur, next);
  }
}

}  // namespace mkimage::parser::detail
