// `mkimage pull`, `push`, `login`, `logout`: the registry commands
// (registry/pull.hpp, push.hpp, credentials.hpp), with docker's flags, output
// lines and exit statuses.
#include <CLI/CLI.hpp>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "mkimage/cli.hpp"
#include "mkimage/transfer_progress.hpp"
#include "registry/client.hpp"
#include "registry/config.hpp"
#include "registry/credentials.hpp"
#include "registry/pull.hpp"
#include "registry/push.hpp"
#include "store/root.hpp"
#include "store/store.hpp"

namespace mkimage::cli {

namespace {

registry::RegistryConfig load_registry_config(const GlobalOptions& global) {
  auto root = must(store::default_root(global.root));
  return must(registry::RegistryConfig::load(root));
}

store::Platform parse_platform(const std::string& text) {
  store::Platform p;
  if (text.empty()) return p;
  std::vector<std::string> parts;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      parts.push_back(text.substr(b, i - b));
      b = i + 1;
    }
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    throw CliExit{k_exit_usage, "mkimage: invalid platform \"" + text + "\": want os/arch[/variant]"};
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

// True when the text names a tag or digest itself ("x:1", "h:5000/x@sha256:…"),
// not just a repository that reads as ":latest" ("h:5000/x").
bool names_tag_or_digest(const std::string& text) {
  std::size_t slash = text.rfind('/');
  return text.find('@') != std::string::npos ||
         text.find(':', slash == std::string::npos ? 0 : slash) != std::string::npos;
}

std::string read_secret(const std::string& prompt, bool echo) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool restore = false;
  if (!echo && ::tcgetattr(0, &old) == 0) {
    termios t = old;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    restore = ::tcsetattr(0, TCSANOW, &t) == 0;
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    ::tcsetattr(0, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

void register_pull(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("pull", "Download an image from a registry");
  struct Opts {
    std::string name;
    std::string platform;
    bool quiet = false;
    bool all_tags = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("name", o->name, "NAME[:TAG|@DIGEST]")->required();
  cmd->add_flag("-a,--all-tags", o->all_tags, "Download all tagged images in the repository");
  cmd->add_option("--platform", o->platform, "os/arch[/variant] to pick from a multi-platform image (default: the host's)");
  cmd->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
  cmd->callback([o, &global] {
    auto ref = store::Reference::parse(o->name);
    if (!ref) throw CliExit{k_exit_failure, "mkimage: invalid reference format: " + ref.error().message};
    store::Platform platform = parse_platform(o->platform);
    auto config = load_registry_config(global);
    auto creds = registry::CredentialStore::open_default();
    auto st = open_store(global);
    TransferProgress progress(std::cout, ::isatty(1) != 0, o->quiet);
    bool explicit_tag = names_tag_or_digest(o->name);
    registry::PullOptions opts;
    opts.config = &config;
    opts.credentials = &creds;
    opts.platform = platform;
    std::vector<store::Reference> refs;
    if (o->all_tags) {
      if (explicit_tag) throw CliExit{k_exit_usage, "mkimage: tag can't be used with --all-tags/-a"};
      registry::Client client(config, must(creds.get(ref->domain())), ref->domain(), false);
      auto tags = client.list_tags(ref->path());
      if (!tags) throw CliExit{k_exit_failure, "mkimage: pull " + ref->familiar_repository() + ": " + tags.error().message};
      for (const auto& t : *tags) refs.push_back(ref->with_tag(t));
      if (refs.empty()) throw CliExit{k_exit_failure, "mkimage: pull " + ref->familiar_repository() + ": the repository has no tags"};
    } else {
      if (!explicit_tag) progress.message("Using default tag: latest");
      refs.push_back(*ref);
    }
    bool any_new = false;
    for (const auto& one : refs) {
      auto r = registry::pull_image(*st, one, opts, progress);
      if (!r) throw CliExit{k_exit_failure, "mkimage: " + r.error().message};
      progress.message("Digest: " + r->repo_digest.digest()->str());
      any_new = any_new || r->downloaded;
      if (!o->all_tags)
        progress.message(std::string(r->downloaded ? "Status: Downloaded newer image for " : "Status: Image is up to date for ") +
                         one.familiar());
    }
    if (o->all_tags) {
      progress.message(std::string(any_new ? "Status: Downloaded newer image for " : "Status: Image is up to date for ") +
                       ref->familiar_repository());
      std::cout << ref->repository() << "\n";
      return;
    }
    std::cout << ref->str() << "\n";
  });
}

void register_push(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("push", "Upload an image to a registry");
  struct Opts {
    std::string name;
    bool quiet = false;
    bool all_tags = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("name", o->name, "NAME[:TAG]")->required();
  cmd->add_flag("-a,--all-tags", o->all_tags, "Push all tagged images in the repository");
  cmd->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
  cmd->callback([o, &global] {
    auto ref = store::Reference::parse(o->name);
    if (!ref) throw CliExit{k_exit_failure, "mkimage: invalid reference format: " + ref.error().message};
    auto config = load_registry_config(global);
    auto creds = registry::CredentialStore::open_default();
    auto st = open_store(global);
    TransferProgress progress(std::cout, ::isatty(1) != 0, o->quiet);
    // docker pushes tags, never an image ID: the name must be a local tag
    // (with -a: every local tag of the repository).
    if (o->all_tags && names_tag_or_digest(o->name))
      throw CliExit{k_exit_usage, "mkimage: tag can't be used with --all-tags/-a"};
    std::vector<std::pair<store::Reference, store::Digest>> targets;
    if (o->all_tags) {
      for (const auto& t : must(st->index().list_tags()))
        if (t.reference.repository() == ref->repository()) targets.emplace_back(t.reference, t.manifest);
    } else if (!ref->digest()) {
      store::Reference tagged = ref->tag() ? *ref : ref->with_tag("latest");
      if (auto local = must(st->index().get_tag(tagged))) targets.emplace_back(tagged, *local);
    }
    if (targets.empty())
      throw CliExit{k_exit_failure, "mkimage: An image does not exist locally with the tag: " + ref->familiar_repository()};
    registry::PushOptions opts;
    opts.config = &config;
    opts.credentials = &creds;
    for (const auto& [tagged, local] : targets) {
      auto r = registry::push_image(*st, local.str(), tagged, opts, progress);
      if (!r) throw CliExit{k_exit_failure, "mkimage: " + r.error().message};
      if (o->quiet) std::cout << tagged.str() << "\n";
      else std::cout << r->tag << ": digest: " << r->digest.str() << " size: " << r->size << "\n";
    }
  });
}

void register_login(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("login", "Log in to a registry (credentials kept in docker's config.json)");
  struct Opts {
    std::string server;
    std::string username;
    std::string password;
    bool password_stdin = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("server", o->server, "Registry host[:port] (default: docker.io)");
  cmd->add_option("-u,--username", o->username, "Username");
  cmd->add_option("-p,--password", o->password, "Password");
  cmd->add_flag("--password-stdin", o->password_stdin, "Take the password from stdin");
  cmd->callback([o, &global] {
    std::string server = registry::registry_domain(o->server);
    if (!o->password.empty() && o->password_stdin)
      throw CliExit{k_exit_usage, "mkimage: --password and --password-stdin are mutually exclusive"};
    if (o->password_stdin) {
      if (o->username.empty()) throw CliExit{k_exit_usage, "mkimage: Must provide --username with --password-stdin"};
      std::string all((std::istreambuf_iterator<char>(std::cin)), {});
      while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
      o->password = all;
    } else if (!o->password.empty()) {
      std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
    }
    auto creds = registry::CredentialStore::open_default();
    auto config = load_registry_config(global);
    // No flags and credentials on file: check those (docker does the same).
    if (o->username.empty() && o->password.empty()) {
      auto stored = must(creds.get(server));
      if (stored) {
        std::cout << "Authenticating with existing credentials..." << std::endl;
        registry::Client client(config, *stored, server, false);
        if (client.check_api().ok()) {
          std::cout << "Login Succeeded\n";
          return;
        }
      }
    }
    if (o->username.empty() || o->password.empty()) {
      if (!::isatty(0)) throw CliExit{k_exit_failure, "mkimage: Cannot perform an interactive login from a non TTY device"};
      if (o->username.empty()) o->username = read_secret("Username: ", true);
      if (o->password.empty()) o->password = read_secret("Password: ", false);
    }
    registry::Credentials c{o->username, o->password, ""};
    registry::Client client(config, c, server, false);
    auto ok = client.check_api();
    if (!ok) throw CliExit{k_exit_failure, "mkimage: login " + server + ": " + ok.error().message};
    bool in_file = must(creds.store(server, c));
    if (in_file)
      std::cerr << "WARNING! Your password will be stored unencrypted in " << creds.file().string() << ".\n"
                << "Configure a credential helper to remove this warning (docs/registry.md).\n\n";
    std::cout << "Login Succeeded\n";
  });
}

void register_logout(CLI::App& app, GlobalOptions&) {
  auto* cmd = app.add_subcommand("logout", "Log out from a registry");
  auto server = std::make_shared<std::string>();
  cmd->add_option("server", *server, "Registry host[:port] (default: docker.io)");
  cmd->callback([server] {
    std::string s = registry::registry_domain(*server);
    auto creds = registry::CredentialStore::open_default();
    (void)must(creds.erase(s));  // docker says the same whether there were any or not
    std::cout << "Removing login credentials for " << registry::credential_server(s) << "\n";
  });
}

}  // namespace

void register_registry_commands(CLI::App& app, GlobalOptions& global) {
  register_pull(app, global);
  register_push(app, global);
  register_login(app, global);
  register_logout(app, global);
}

}  // namespace mkimage::cli
