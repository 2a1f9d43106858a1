// OCI content digests (include/mkimage/digest.hpp) and the layer identities built
// on them: diff_id and chain_id (image-spec config.md).
#pragma once

#include <string>

#include "mkimage/digest.hpp"
#include "util/result.hpp"

namespace mkimage::store {

using Digest = mkimage::Digest;  // include/mkimage/digest.hpp

// sha256 of the UNcompressed layer tar (image-spec config.md rootfs.diff_ids).
struct DiffId {
  Digest digest;
  bool operator==(const DiffId&) const = default;
};

// Identity of a stack of layers (image-spec config.md §Layer ChainID):
// chain_id(L0) = diff_id(L0); chain_id(L0..n) = sha256(chain_id(L0..n-1) + " " + diff_id(Ln)).
struct ChainId {
  Digest digest;
  bool operator==(const ChainId&) const = default;
};

ChainId chain_id_of(const ChainId* parent, const DiffId& diff_id);

}  // namespace mkimage::store
