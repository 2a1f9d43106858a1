// libmkimage.so is the module archives linked whole (lib/CMakeLists.txt); this
// file only gives the target a source of its own.
#include "mkimage/build.hpp"
