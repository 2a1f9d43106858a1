#include "mkimage/cli.hpp"

int main(int argc, char** argv) { return mkimage::cli::run_cli(argc, argv); }
