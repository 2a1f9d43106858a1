#include "builder/step_inputs_codec.hpp"

#include <zstd.h>

#include <nlohmann/json.hpp>

#include "store/digest.hpp"
#include "util/json_text.hpp"

namespace mkimage::builder {

using nlohmann::json;

namespace {

constexpr char k_listing_magic[] = "mkfl1";
constexpr int k_zstd_level = 3;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool get_varint(const std::string& in, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size()) return false;
    auto b = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string encode_chain(const std::vector<KeyLink>& chain) {
  json a = json::array();
  for (const auto& l : chain) {
    json f = json::array();
    for (const auto& [t, v] : l.fields) f.push_back(json::array({t, v}));
    a.push_back(json{{"i", l.instruction}, {"f", f}});
  }
  return util::json_text(a);
}

util::Result<std::vector<KeyLink>> decode_chain(const std::string& text) {
  json a = json::parse(text, nullptr, false);
  if (!a.is_array()) return util::Error{"key inputs: not a JSON list"};
  std::vector<KeyLink> out;
  for (const auto& l : a) {
    if (!l.is_object() || !l.contains("i") || !l["i"].is_string() || !l.contains("f") || !l["f"].is_array())
      return util::Error{"key inputs: bad link"};
    KeyLink k;
    k.instruction = l["i"].get<std::string>();
    for (const auto& f : l["f"]) {
      if (!f.is_array() || f.size() != 2 || !f[0].is_string() || !f[1].is_string())
        return util::Error{"key inputs: bad field"};
      k.fields.emplace_back(f[0].get<std::string>(), f[1].get<std::string>());
    }
    out.push_back(std::move(k));
  }
  return out;
}

std::string encode_file_listing(const FileListing& files) {
  std::string raw(k_listing_magic);
  put_varint(raw, files.size());
  const std::string* prev = nullptr;
  for (const auto& e : files) {
    std::size_t common = 0;
    if (prev)
      while (common < prev->size() && common < e.path.size() && (*prev)[common] == e.path[common]) ++common;
    put_varint(raw, common);
    put_varint(raw, e.path.size() - common);
    raw.append(e.path, common);
    put_varint(raw, e.mode);
    for (std::size_t i = 0; i + 1 < e.content.size() && i < 16; i += 2) {
      int hi = hex_value(e.content[i]), lo = hex_value(e.content[i + 1]);
      raw.push_back(static_cast<char>(((hi < 0 ? 0 : hi) << 4) | (lo < 0 ? 0 : lo)));
    }
    for (std::size_t i = std::min<std::size_t>(e.content.size(), 16) / 2; i < 8; ++i) raw.push_back(0);
    prev = &e.path;
  }
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), k_zstd_level);
  if (ZSTD_isError(n)) return {};  // cannot happen with a bound-sized buffer
  out.resize(n);
  return out;
}

util::Result<FileListing> decode_file_listing(const std::string& data) {
  unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 32))
    return util::Error{"file list: not a zstd frame"};
  std::string raw(size, '\0');
  std::size_t n = ZSTD_decompress(raw.data(), raw.size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) return util::Error{"file list: bad zstd frame"};
  std::size_t magic = sizeof k_listing_magic - 1;
  if (raw.compare(0, magic, k_listing_magic) != 0) return util::Error{"file list: unknown format"};
  std::size_t pos = magic;
  std::uint64_t count = 0;
  if (!get_varint(raw, pos, count)) return util::Error{"file list: truncated"};
  FileListing out;
  std::string prev;
  static const char* hex = "0123456789abcdef";
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t common = 0, rest = 0, mode = 0;
    if (!get_varint(raw, pos, common) || !get_varint(raw, pos, rest) || common > prev.size() ||
        pos + rest > raw.size())
      return util::Error{"file list: truncated"};
    FileDigestEntry e;
    e.path = prev.substr(0, common) + raw.substr(pos, rest);
    pos += rest;
    if (!get_varint(raw, pos, mode) || pos + 8 > raw.size()) return util::Error{"file list: truncated"};
    e.mode = static_cast<std::uint32_t>(mode);
    for (int b = 0; b < 8; ++b) {
      auto c = static_cast<unsigned char>(raw[pos++]);
      e.content.push_back(hex[c >> 4]);
      e.content.push_back(hex[c & 15]);
    }
    prev = e.path;
    out.push_back(std::move(e));
  }
  return out;
}

std::string file_listing_digest(const std::string& encoded) { return store::Digest::sha256_of(encoded).str(); }

}  // namespace mkimage::builder
