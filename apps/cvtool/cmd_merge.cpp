// `cvtool merge`: combines the outputs of `--shard i/N` runs into one, checking that
// no input is missing or duplicated. JSONL results and COCO results JSON merge into a
// file; MOT files (one per video) merge into a folder.
#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/sink.hpp"
#include "cvtool/core/source.hpp"

namespace cvtool::cli {

namespace {

namespace fs = std::filesystem;

struct MergeOptions {
  std::vector<std::string> parts;
  std::string output;
  std::string format = "auto";
  std::vector<std::string> inputs;
  bool drop_duplicates = false;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Usage, path + ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string detect_format(const std::vector<std::string>& parts) {
  const fs::path first(parts.front());
  std::error_code ec;
  if (fs::is_directory(first, ec)) return "mot";
  std::string name = first.filename().string();
  auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
  if (ends(".jsonl")) return "jsonl";
  if (ends(".mot.txt") || ends(".txt")) return "mot";
  if (ends(".json")) return "coco";
  throw Error(ErrorKind::Usage, parts.front() + ": cannot tell the format from the name; pass --format jsonl|coco|mot");
}

// Problems that make the merge wrong (missing, duplicated, unexpected inputs): all are
// listed, nothing is written, exit 1.
struct Problems {
  std::vector<std::string> list;
  void add(const std::string& p) { list.push_back(p); }
  int report() const {
    if (list.empty()) return kExitOk;
    for (const auto& p : list) spdlog::error("{}", p);
    spdlog::error("merge refused: {} problem(s); nothing written", list.size());
    return kExitSomeFailed;
  }
};

void write_output(const std::string& output, const std::string& bytes) {
  if (output.empty() || output == "-") {
    std::cout << bytes;
    std::cout.flush();
  } else {
    write_file_atomic(output, bytes);
  }
}

// The expanded --inputs, in order (the order of a single-process run).
std::vector<std::string> expected_sources(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& item : enumerate_inputs(inputs)) out.push_back(item.path);
  return out;
}

// One input's records: consecutive lines with the same source (a video gives many).
struct Group {
  std::string source, part;
  std::string text;  // the lines, newline-terminated, byte for byte
};

int merge_jsonl(const MergeOptions& opts) {
  std::vector<Group> groups;
  for (const auto& part : opts.parts) {
    std::istringstream in(read_text(part));
    std::string line;
    std::size_t number = 0;
    std::string last_source;
    bool has_last = false;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      auto record = Json::parse(line, nullptr, false);
      if (record.is_discarded() || !record.is_object() || !record.contains("source") || !record["source"].is_string())
        throw Error(ErrorKind::Usage, part + ":" + std::to_string(number) + ": not a JSON record with a \"source\"");
      std::string source = record["source"].get<std::string>();
      if (!has_last || source != last_source) groups.push_back({source, part, ""});
      groups.back().text += line + "\n";
      last_source = source;
      has_last = true;
    }
  }
  // Duplicates: an input whose records come from two places.
  Problems problems;
  std::map<std::string, std::size_t> last_of;
  std::vector<bool> keep(groups.size(), true);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto it = last_of.find(groups[i].source);
    if (it != last_of.end()) {
      if (opts.drop_duplicates) {
        keep[it->second] = false;  // the later records win (a resumed run redid the input)
      } else {
        problems.add(groups[i].source + ": duplicated (in " + groups[it->second].part + " and " + groups[i].part + ")");
      }
    }
    last_of[groups[i].source] = i;
  }
  std::string merged;
  if (!opts.inputs.empty()) {
    auto expected = expected_sources(opts.inputs);
    std::set<std::string> wanted(expected.begin(), expected.end());
    for (const auto& source : expected)
      if (!last_of.count(source)) problems.add(source + ": missing (no record in any part)");
    for (const auto& [source, i] : last_of)
      if (!wanted.count(source)) problems.add(source + ": not among the --inputs (from " + groups[i].part + ")");
    // In input order, so the merge equals a single-process run whatever the parts' order.
    std::map<std::string, std::vector<std::size_t>> groups_of;
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (keep[i]) groups_of[groups[i].source].push_back(i);
    std::set<std::string> written;
    for (const auto& source : expected) {
      if (!written.insert(source).second) continue;
      for (std::size_t i : groups_of[source]) merged += groups[i].text;
    }
  } else {
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (keep[i]) merged += groups[i].text;
  }
  if (int rc = problems.report()) return rc;
  write_output(opts.output, merged);
  spdlog::info("merged {} inputs from {} parts", last_of.size(), opts.parts.size());
  return kExitOk;
}

int merge_coco(const MergeOptions& opts) {
  Json merged = Json::array();
  Problems problems;
  std::map<std::string, std::string> part_of_image;  // image_id (dumped) -> part
  for (const auto& part : opts.parts) {
    auto results = Json::parse(read_text(part), nullptr, false);
    if (results.is_discarded() || !results.is_array())
      throw Error(ErrorKind::Usage, part + ": not a COCO results file (a JSON array)");
    std::set<std::string> here;
    for (const auto& r : results) {
      if (!r.is_object() || !r.contains("image_id"))
        throw Error(ErrorKind::Usage, part + ": a COCO result without image_id");
      here.insert(r["image_id"].dump());
      merged.push_back(r);
    }
    for (const auto& id : here) {
      auto [it, fresh] = part_of_image.emplace(id, part);
      if (!fresh) problems.add("image_id " + id + ": duplicated (in " + it->second + " and " + part + ")");
    }
  }
  if (!opts.inputs.empty())
    spdlog::warn("--inputs: COCO results list only images with detections, so completeness is not checked; "
                 "merge the JSONL to check it");
  if (int rc = problems.report()) return rc;
  write_output(opts.output, merged.dump() + "\n");
  spdlog::info("merged {} results of {} images from {} parts", merged.size(), part_of_image.size(), opts.parts.size());
  return kExitOk;
}

int merge_mot(const MergeOptions& opts) {
  if (opts.output.empty() || opts.output == "-") throw Error(ErrorKind::Usage, "merge --format mot needs -o DIR");
  std::map<std::string, std::string> found;  // file name -> path
  Problems problems;
  auto add = [&](const fs::path& p) {
    auto [it, fresh] = found.emplace(p.filename().string(), p.string());
    if (!fresh) problems.add(p.filename().string() + ": duplicated (" + it->second + " and " + p.string() + ")");
  };
  for (const auto& part : opts.parts) {
    std::error_code ec;
    if (fs::is_directory(part, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(part, ec))
        if (e.is_regular_file() && e.path().filename().string().size() > 8 &&
            e.path().string().compare(e.path().string().size() - 8, 8, ".mot.txt") == 0)
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f);
    } else {
      add(part);
    }
  }
  if (!opts.inputs.empty()) {
    // The names `cvtool track -o` gives: they depend only on the input list.
    OutputNamer namer(opts.output);
    std::set<std::string> wanted;
    for (const auto& source : expected_sources(opts.inputs)) {
      namer.protect_input(source);
      wanted.insert(namer.stem_for(source) + ".mot.txt");
    }
    for (const auto& name : wanted)
      if (!found.count(name)) problems.add(name + ": missing (no part has it)");
    for (const auto& [name, path] : found)
      if (!wanted.count(name)) problems.add(path + ": not one of the --inputs' MOT files");
  }
  if (int rc = problems.report()) return rc;
  for (const auto& [name, path] : found) write_file_atomic(fs::path(opts.output) / name, read_text(path));
  spdlog::info("merged {} MOT files into {}", found.size(), opts.output);
  return kExitOk;
}

int run_merge(MergeOptions& opts) {
  CommonOptions logging;
  setup_logging(logging);
  std::string format = opts.format == "auto" ? detect_format(opts.parts) : opts.format;
  if (format == "jsonl") return merge_jsonl(opts);
  if (format == "coco") return merge_coco(opts);
  return merge_mot(opts);
}

}  // namespace

Command register_merge(CLI::App& app) {
  auto opts = std::make_shared<MergeOptions>();
  CLI::App* cmd = app.add_subcommand("merge", "Combine per-shard outputs (JSONL, COCO results, MOT files) into one");
  cmd->add_option("parts", opts->parts, "The shards' outputs, in shard order (files, or folders of .mot.txt)")
      ->required();
  cmd->add_option("-o,--output", opts->output, "Merged file (default: stdout), or folder for MOT files");
  cmd->add_option("--format", opts->format, "jsonl, coco or mot (default: from the first part's name)")
      ->check(CLI::IsMember({"auto", "jsonl", "coco", "mot"}));
  cmd->add_option("--inputs", opts->inputs,
                  "The inputs the shards were given: check none is missing or extra, and order by them")
      ->take_all();
  cmd->add_flag("--drop-duplicates", opts->drop_duplicates,
                "Keep the last records of an input found twice (e.g. a killed run plus its --resume) instead of failing");
  cmd->footer(
      "\nExamples:\n"
      "  cvtool merge out/shard-{0..3}.jsonl -o all.jsonl --inputs photos/\n"
      "  cvtool merge out/shard-*/predictions.coco.json -o predictions.coco.json\n"
      "  cvtool merge out/shard-0 out/shard-1 --format mot -o mot/ --inputs videos/\n");
  return {cmd, [opts] { return run_merge(*opts); }};
}

}  // namespace cvtool::cli
