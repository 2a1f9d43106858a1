// The JSON (exec) form of instruction arguments, decoded with the rules of Go's
// encoding/json (what BuildKit's parseJSON uses): the whole text must be one
// valid JSON value, then every element of the top-level array must be a string.
#include "parser/syntax_internal.hpp"

namespace mkimage::parser::syntax {

namespace {

constexpr std::size_t k_max_depth = 10000;  // Go's scanner nesting limit

class JsonReader {
public:
  explicit JsonReader(std::string_view text) : m_s(text) {}

  // Validates the whole text as one JSON value (Go's checkValid). Iterative, so
  // deep nesting cannot exhaust the stack; nesting deeper than Go's limit is invalid.
  bool valid() {
    std::vector<char> stack;
    for (;;) {
      skip_ws();
      char c = peek();
      if (c == '[' || c == '{') {
        if (stack.size() + 1 > k_max_depth) return false;
        ++m_i;
        skip_ws();
        char close = c == '[' ? ']' : '}';
        if (peek() != close) {
          stack.push_back(c);
          if (c == '{' && !object_key()) return false;
          continue;  // the first element
        }
        ++m_i;
      } else if (!scalar()) {
        return false;
      }
      // A value is complete: close containers until one continues with ','.
      for (;;) {
        skip_ws();
        if (stack.empty()) return m_i == m_s.size();
        char top = stack.back();
        if (peek() == ',') {
          ++m_i;
          if (top == '{' && !object_key()) return false;
          break;
        }
        if (peek() != (top == '[' ? ']' : '}')) return false;
        ++m_i;
        stack.pop_back();
      }
    }
  }

  // After valid(): decodes the top-level array; false if an element is not a string.
  bool decode_string_array(std::vector<std::string>& out) {
    m_i = 0;
    skip_ws();
    ++m_i;  // '['
    skip_ws();
    if (peek() == ']') return true;
    for (;;) {
      skip_ws();
      if (peek() != '"') return false;
      std::string str;
      decode_string(str);
      out.push_back(std::move(str));
      skip_ws();
      if (peek() == ',') {
        ++m_i;
        continue;
      }
      return true;  // ']'
    }
  }

private:
  char peek() const { return m_i < m_s.size() ? m_s[m_i] : '\0'; }
  bool at_end() const { return m_i >= m_s.size(); }

  void skip_ws() {
    while (m_i < m_s.size() &&
           (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r')) {
      ++m_i;
    }
  }

  bool literal(std::string_view word) {
    if (m_s.substr(m_i, word.size()) != word) return false;
    m_i += word.size();
    return true;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  bool number() {
    if (peek() == '-') ++m_i;
    if (peek() == '0') {
      ++m_i;
    } else if (peek() >= '1' && peek() <= '9') {
      while (is_digit(peek())) ++m_i;
    } else {
      return false;
    }
    if (peek() == '.') {
      ++m_i;
      if (!is_digit(peek())) return false;
      while (is_digit(peek())) ++m_i;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++m_i;
      if (peek() == '+' || peek() == '-') ++m_i;
      if (!is_digit(peek())) return false;
      while (is_digit(peek())) ++m_i;
    }
    return true;
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool string_valid() {
    ++m_i;  // opening quote
    while (!at_end()) {
      auto c = static_cast<unsigned char>(m_s[m_i]);
      if (c == '"') {
        ++m_i;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        ++m_i;
        if (at_end()) return false;
        char e = m_s[m_i];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (m_i + k >= m_s.size() || hex(m_s[m_i + k]) < 0) return false;
          }
          m_i += 5;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
            e != 't') {
          return false;
        }
        ++m_i;
        continue;
      }
      ++m_i;
    }
    return false;
  }

  // `"key" :` inside an object.
  bool object_key() {
    skip_ws();
    if (peek() != '"' || !string_valid()) return false;
    skip_ws();
    if (peek() != ':') return false;
    ++m_i;
    return true;
  }

  bool scalar() {
    switch (peek()) {
      case '"':
        return string_valid();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  int read_u4(std::size_t at) const {
    if (at + 6 > m_s.size() || m_s[at] != '\\' || m_s[at + 1] != 'u') return -1;
    int v = 0;
    for (std::size_t k = at + 2; k < at + 6; ++k) {
      int h = hex(m_s[k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  }

  // Decodes a valid string at m_i (Go's unquote): invalid UTF-8 bytes and lone
  // surrogates become U+FFFD.
  void decode_string(std::string& out) {
    ++m_i;
    while (m_i < m_s.size()) {
      char c = m_s[m_i];
      if (c == '"') {
        ++m_i;
        return;
      }
      if (c == '\\') {
        char e = m_s[m_i + 1];
        switch (e) {
          case 'b': out += '\b'; m_i += 2; continue;
          case 'f': out += '\f'; m_i += 2; continue;
          case 'n': out += '\n'; m_i += 2; continue;
          case 'r': out += '\r'; m_i += 2; continue;
          case 't': out += '\t'; m_i += 2; continue;
          case 'u': {
            int v = read_u4(m_i);
            m_i += 6;
            char32_t cp = static_cast<char32_t>(v);
            if (cp >= 0xD800 && cp < 0xE000) {
              int lo = read_u4(m_i);
              if (cp < 0xDC00 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<char32_t>(lo) - 0xDC00);
                m_i += 6;
              } else {
                cp = 0xFFFD;
              }
            }
            utf8::append(out, static_cast<int32_t>(cp));
            continue;
          }
          default:  // '"', '\\', '/'
            out += e;
            m_i += 2;
            continue;
        }
      }
      Rune r = decode_rune(m_s, m_i);
      if (!r.valid) {
        utf8::append(out, utf8::k_rune_error);
        m_i += 1;
        continue;
      }
      out.append(m_s.substr(m_i, r.width));
      m_i += r.width;
    }
  }

  std::string_view m_s;
  std::size_t m_i = 0;
};

}  // namespace

JsonForm parse_json_array(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  if (text.empty() || text[0] != '[') return JsonForm::not_json;
  JsonReader reader(text);
  if (!reader.valid()) return JsonForm::not_json;
  if (!reader.decode_string_array(out)) {
    out.clear();
    return JsonForm::not_strings;
  }
  return JsonForm::strings;
}

}  // namespace mkimage::parser::syntax
