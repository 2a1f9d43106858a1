// MKIMAGE_API marks what libmkimage.so exports: the public API of the headers in
// include/mkimage/. Everything else is built with -fvisibility=hidden.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define MKIMAGE_API __attribute__((visibility("default")))
#else
#define MKIMAGE_API
#endif
