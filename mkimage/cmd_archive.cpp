// `mkimage save`, `mkimage load`, `mkimage import`: images in and out of the
// store as archives (store/archive.hpp, store/import.hpp), with docker's flags
// and output lines.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <variant>

#include "mkimage/cli.hpp"
#include "parser/ast.hpp"
#include "parser/instructions.hpp"
#include "store/archive.hpp"
#include "store/import.hpp"
#include "store/store.hpp"

namespace mkimage::cli {

namespace {

// An image named on the command line, with the tag to record when it was named
// by a tag (docker save writes RepoTags only for names, not for IDs).
store::ArchiveImage resolve_for_save(store::Store& st, const std::string& text) {
  auto img = must(st.resolve(text));
  if (!img) throw CliExit{k_exit_failure, "mkimage: no such image: " + text};
  store::ArchiveImage out{std::move(*img), {}};
  auto ref = store::Reference::parse(text);
  if (ref.ok() && !ref->digest()) {
    store::Reference tagged = ref->tag() ? *ref : ref->with_tag("latest");
    auto hit = st.index().get_tag(tagged);
    if (hit.ok() && *hit && **hit == out.image.record.manifest) out.tags.push_back(tagged);
  }
  return out;
}

// Applies one `--change` instruction (docker import/commit: CMD, ENTRYPOINT, ENV,
// EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR) to `config`.
void apply_change(const std::string& text, store::ContainerConfig& config, bool& cmd_set) {
  auto ast = parser::parse_dockerfile(text, "--change");
  if (!ast) throw CliExit{k_exit_usage, "mkimage: import: --change: " + ast.error().message};
  for (const auto& node : ast->instructions) {
    parser::InstructionError detail;
    auto ins = parser::parse_instruction(node, &detail);
    if (!ins) throw CliExit{k_exit_usage, "mkimage: import: --change \"" + text + "\": " + ins.error().message};
    auto shell = [&](const std::vector<std::string>& cmd, bool shell_form) {
      if (!shell_form) return cmd;
      std::vector<std::string> sh = config.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : config.shell;
      sh.push_back(cmd.empty() ? "" : cmd[0]);
      return sh;
    };
    std::visit(
        [&](const auto& i) {
          using T = std::decay_t<decltype(i)>;
          if constexpr (std::is_same_v<T, parser::CmdInstruction>) {
            config.cmd = shell(i.command, i.shell_form);
            cmd_set = true;
          } else if constexpr (std::is_same_v<T, parser::EntrypointInstruction>) {
            config.entrypoint = shell(i.command, i.shell_form);
            if (!cmd_set) config.cmd.reset();
          } else if constexpr (std::is_same_v<T, parser::EnvInstruction>) {
            for (const auto& kv : i.pairs) config.set_env(kv.key, kv.value);
          } else if constexpr (std::is_same_v<T, parser::LabelInstruction>) {
            for (const auto& kv : i.pairs) config.labels[kv.key] = kv.value;
          } else if constexpr (std::is_same_v<T, parser::ExposeInstruction>) {
            for (std::string p : i.ports) {
              for (auto& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
              if (p.find('/') == std::string::npos) p += "/tcp";
              config.exposed_ports.insert(p);
            }
          } else if constexpr (std::is_same_v<T, parser::OnbuildInstruction>) {
            config.on_build.push_back(i.expression);
          } else if constexpr (std::is_same_v<T, parser::StopSignalInstruction>) {
            config.stop_signal = i.signal;
          } else if constexpr (std::is_same_v<T, parser::UserInstruction>) {
            config.user = i.user;
          } else if constexpr (std::is_same_v<T, parser::VolumeInstruction>) {
            for (const auto& v : i.volumes) config.volumes.insert(v);
          } else if constexpr (std::is_same_v<T, parser::WorkdirInstruction>) {
            std::string p = i.path;
            if (p.empty() || p[0] != '/') {
              std::string base = config.working_dir.empty() ? "/" : config.working_dir;
              p = base + (base.back() == '/' ? "" : "/") + p;
            }
            config.working_dir = p;
          } else {
            throw CliExit{k_exit_usage, "mkimage: import: --change \"" + text +
                                            "\": only CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, "
                                            "USER, VOLUME and WORKDIR can be changed"};
          }
        },
        *ins);
  }
}

}  // namespace

void register_archive_commands(CLI::App& app, GlobalOptions& global) {
  // save
  {
    auto* cmd = app.add_subcommand("save", "Save one or more images to a tar archive (docker-archive or oci-archive)");
    struct Opts {
      std::string output;
      std::string format = "docker-archive";
      std::string compression;
      std::vector<std::string> images;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("-o,--output", o->output, "Write to a file instead of stdout");
    cmd->add_option("--format", o->format, "docker-archive (default) or oci-archive");
    cmd->add_option("--compression", o->compression,
                    "Layer compression: gzip (oci-archive default), zstd or none (docker-archive default)");
    cmd->add_option("images", o->images, "Images (name[:tag], ID or digest)")->required();
    cmd->callback([o, &global] {
      auto format = store::parse_archive_format(o->format);
      if (!format) throw CliExit{k_exit_usage, "mkimage: save: " + format.error().message};
      store::SaveOptions opts;
      opts.format = *format;
      if (!o->compression.empty()) {
        auto c = store::parse_compression(o->compression);
        if (!c) throw CliExit{k_exit_usage, "mkimage: save: " + c.error().message};
        opts.compression = *c;
      }
      std::string out = o->output.empty() ? "-" : o->output;
      if (out == "-" && ::isatty(1)) {
        throw CliExit{k_exit_usage, "mkimage: save: refusing to write an archive to a terminal (use -o FILE)"};
      }
      auto st = open_store(global);
      std::vector<store::ArchiveImage> images;
      for (const auto& name : o->images) images.push_back(resolve_for_save(*st, name));
      auto r = store::save_images(*st, images, out, opts);
      if (!r) throw CliExit{k_exit_failure, "mkimage: save: " + r.error().message};
    });
  }
  // load
  {
    auto* cmd = app.add_subcommand("load", "Load images from a tar archive (docker-archive or oci-archive, plain or compressed)");
    struct Opts {
      std::string input = "-";
      bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("-i,--input", o->input, "Read from a file instead of stdin");
    cmd->add_flag("-q,--quiet", o->quiet, "Print nothing");
    cmd->callback([o, &global] {
      if (o->input == "-" && ::isatty(0)) {
        throw CliExit{k_exit_usage, "mkimage: load: requested load from stdin, but stdin is empty (use -i FILE)"};
      }
      auto st = open_store(global);
      auto r = store::load_archive(*st, o->input);
      if (!r) throw CliExit{k_exit_failure, "mkimage: load: " + r.error().message};
      if (o->quiet) return;
      for (const auto& img : *r) {
        if (img.tags.empty()) std::cout << "Loaded image ID: " << img.image.id() << "\n";
        for (const auto& t : img.tags) std::cout << "Loaded image: " << t.familiar() << "\n";
      }
    });
  }
  // import
  {
    auto* cmd = app.add_subcommand("import", "Create a one-layer image from a rootfs tarball (file, URL or - for stdin)");
    struct Opts {
      std::string source;
      std::string name;
      std::vector<std::string> changes;
      std::string message;
      std::string platform;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("source", o->source, "Tarball: FILE, URL or - (stdin)")->required();
    cmd->add_option("name", o->name, "REPOSITORY[:TAG] for the new image");
    cmd->add_option("-c,--change", o->changes, "Apply a Dockerfile instruction to the image config (repeatable)")->allow_extra_args(false);
    cmd->add_option("-m,--message", o->message, "Commit message for the history entry");
    cmd->add_option("--platform", o->platform, "os/arch of the image (default: the host's)");
    cmd->callback([o, &global] {
      store::ImportOptions opts;
      bool cmd_set = false;
      for (const auto& c : o->changes) apply_change(c, opts.config, cmd_set);
      opts.message = o->message;
      if (!o->platform.empty()) {
        auto slash = o->platform.find('/');
        if (slash == std::string::npos || o->platform.substr(0, slash) != "linux") {
          throw CliExit{k_exit_usage, "mkimage: import: --platform must be linux/ARCH"};
        }
        opts.architecture = o->platform.substr(slash + 1);
      }
      if (!o->name.empty()) {
        auto ref = store::Reference::parse(o->name);
        if (!ref) throw CliExit{k_exit_usage, "mkimage: import: " + ref.error().message};
        opts.tag = *ref;
      }
      auto st = open_store(global);
      auto img = must(store::import_rootfs(*st, o->source, opts));
      std::cout << img.id() << "\n";
    });
  }
}

}  // namespace mkimage::cli
