// `cvtool train classify` and `cvtool train pretext`: map flags onto the train config and
// run the trainer. The run folder gets checkpoints, metrics (JSONL per epoch, JSON + PNG at
// the end) and one standalone TorchScript classifier with its classify config; pretext
// runs also get the backbone alone (backbone.pt) for `train classify --backbone`.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli.hpp"
#include "commands.hpp"
#include "cvtool/core/error.hpp"
#include "cvtool/core/runtime.hpp"
#include "cvtool/train/pretext.hpp"
#include "cvtool/train/trainer.hpp"

namespace cvtool::cli {

namespace {

struct TrainOptions {
  CommonOptions common;
  std::string data, val, backbone, freeze, optimizer, schedule, sampler, class_weights, loss, adversarial;
  double adv_eps = -1, adv_ratio = -1;
  int epochs = 0, batch = 0, patience = -1;
  double lr = -1, weight_decay = -1, dropout = -1, val_fraction = -1;
  long long seed = -1;
  bool multi_label = false, resume = false;
  std::vector<int> imgsz;
  std::string task;  // pretext
  int grid = 0, permutations = 0;
};

std::string json_string(const std::string& s) { return Json(s).dump(); }

// Flags shared by train classify and train pretext, as config overrides.
void add_overrides(TrainOptions& t) {
  auto& o = t.common.flag_overrides;
  // Paths given as flags are relative to the working directory; the config loader
  // resolves override paths that way.
  if (!t.data.empty()) o.push_back("data.train=" + json_string(t.data));
  if (!t.val.empty()) o.push_back("data.val=" + json_string(t.val));
  if (t.val_fraction >= 0) o.push_back("data.val_fraction=" + std::to_string(t.val_fraction));
  if (t.multi_label) o.push_back("data.multi_label=true");
  if (!t.backbone.empty()) o.push_back("model.backbone=" + json_string(t.backbone));
  if (!t.freeze.empty()) o.push_back("model.freeze=" + json_string(t.freeze));
  if (t.dropout >= 0) o.push_back("model.dropout=" + std::to_string(t.dropout));
  if (t.imgsz.size() == 1) t.imgsz.push_back(t.imgsz[0]);
  if (t.imgsz.size() == 2) o.push_back("model.input_size=[" + std::to_string(t.imgsz[0]) + "," + std::to_string(t.imgsz[1]) + "]");
  if (!t.optimizer.empty()) o.push_back("optim.optimizer=" + json_string(t.optimizer));
  if (!t.schedule.empty()) o.push_back("optim.schedule=" + json_string(t.schedule));
  if (t.epochs > 0) o.push_back("optim.epochs=" + std::to_string(t.epochs));
  if (t.batch > 0) o.push_back("optim.batch=" + std::to_string(t.batch));
  if (t.lr > 0) o.push_back("optim.lr=" + std::to_string(t.lr));
  if (t.weight_decay >= 0) o.push_back("optim.weight_decay=" + std::to_string(t.weight_decay));
  if (t.patience >= 0) o.push_back("optim.early_stopping=" + std::to_string(t.patience));
  if (!t.sampler.empty()) o.push_back("sampler=" + json_string(t.sampler));
  if (!t.class_weights.empty()) o.push_back("loss.class_weights=" + json_string(t.class_weights));
  if (!t.loss.empty()) o.push_back("loss.type=" + json_string(t.loss));
  if (t.seed >= 0) o.push_back("seed=" + std::to_string(t.seed));
  if (!t.adversarial.empty()) o.push_back("adversarial.method=" + json_string(t.adversarial));
  if (t.adv_eps >= 0) o.push_back("adversarial.eps=" + std::to_string(t.adv_eps));
  if (t.adv_ratio >= 0) o.push_back("adversarial.ratio=" + std::to_string(t.adv_ratio));
  if (!t.task.empty()) o.push_back("pretext.task=" + json_string(t.task));
  if (t.grid > 0) o.push_back("pretext.grid=" + std::to_string(t.grid));
  if (t.permutations > 0) o.push_back("pretext.permutations=" + std::to_string(t.permutations));
}

TrainRun make_run(const TrainOptions& t) {
  if (t.common.output_dir.empty()) throw Error(ErrorKind::Usage, "train needs -o RUN_DIR for checkpoints and the exported model");
  TrainRun run;
  run.output_dir = t.common.output_dir;
  run.resume = t.resume;
  run.progress = t.common.quiet ? "off" : t.common.progress;
  return run;
}

int run_train_classify(TrainOptions& t) {
  setup_logging(t.common);
  add_overrides(t);
  Json config = load_task_config("train", "train-classify.json", t.common);
  TrainRun run = make_run(t);
  configure_threads(config["runtime"]["threads"].get<int>());
  TrainResult r = train_classifier(config, run);
  if (t.common.jsonl) {
    Json summary = {{"model", r.model_path},       {"config", r.config_path},     {"classes", r.classes},
                    {"best_epoch", r.best_epoch},   {"epochs", r.epochs.size()},   {"stopped_early", r.stopped_early},
                    {"seconds", r.seconds},         {"metrics", r.final_metrics}};
    std::cout << summary.dump() << std::endl;
  }
  return kExitOk;
}

int run_train_pretext(TrainOptions& t) {
  setup_logging(t.common);
  add_overrides(t);
  Json config = load_task_config("train", "train-classify.json", t.common);
  if (config["data"]["train"].is_null()) throw Error(ErrorKind::Usage, "train pretext: no image folder given (--data)");
  TrainRun run = make_run(t);
  configure_threads(config["runtime"]["threads"].get<int>());
  PretextResult r = train_pretext(config, run);
  if (t.common.jsonl) {
    Json summary = {{"backbone", r.backbone_path},  {"feature_dim", r.feature_dim},        {"pretext", r.task.to_json()["task"]},
                    {"classes", r.train.classes},   {"pretext_model", r.train.model_path}, {"best_epoch", r.train.best_epoch},
                    {"epochs", r.train.epochs.size()}, {"seconds", r.train.seconds},       {"metrics", r.train.final_metrics}};
    std::cout << summary.dump() << std::endl;
  }
  return kExitOk;
}

// Options train classify and train pretext share: optimiser and schedule, step size and
// stopping, and how the run is driven and reported.
void add_schedule_options(CLI::App* cmd, TrainOptions& t) {
  cmd->add_option("--optimizer", t.optimizer, "sgd or adam")->check(CLI::IsMember({"sgd", "adam"}));
  cmd->add_option("--schedule", t.schedule, "constant, cosine or step")->check(CLI::IsMember({"constant", "cosine", "step"}));
  cmd->add_option("--epochs", t.epochs, "Epochs")->check(CLI::PositiveNumber);
}

void add_step_options(CLI::App* cmd, TrainOptions& t) {
  cmd->add_option("--lr", t.lr, "Learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--weight-decay", t.weight_decay, "Weight decay")->check(CLI::NonNegativeNumber);
  cmd->add_option("--patience", t.patience, "Early stopping: epochs without a lower val loss (0: never)")->check(CLI::NonNegativeNumber);
}

void add_run_options(CLI::App* cmd, TrainOptions& t) {
  cmd->add_flag("--resume", t.resume, "Continue from RUN_DIR/last.pt");
  cmd->add_option("--threads", t.common.threads, "Intra-op threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--jsonl", t.common.jsonl, "Print a JSON summary of the run on stdout");
  cmd->add_flag("-q,--quiet", t.common.quiet, "Only warnings and errors on stderr");
  cmd->add_flag("-v,--verbose", t.common.verbose, "More logging");
  cmd->add_option("--progress", t.common.progress, "Progress bar per epoch: auto (on a terminal), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
}

}  // namespace

Command register_train(CLI::App& app) {
  auto t = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train models (classify: an image classifier; pretext: a self-supervised backbone)");
  cmd->require_subcommand(1);
  CLI::App* cls = cmd->add_subcommand("classify", "Train or fine-tune an image classifier; exports TorchScript + a classify config");
  cls->add_option("-c,--config", t->common.config, "Train config (JSON); default: configs/train-classify.json");
  cls->add_option("--set", t->common.sets, "Override a config key: key.path=value (repeatable)")->allow_extra_args(false)->take_all();
  cls->add_option("-o,--output", t->common.output_dir, "Run folder (checkpoints, metrics, model.pt, classify.json)")->required();
  cls->add_option("--data", t->data, "ImageFolder root (root/<class>/*) or a .csv/.jsonl list of path,labels");
  cls->add_option("--val", t->val, "Validation set (same layouts); default: a seeded split of --data");
  cls->add_option("--val-fraction", t->val_fraction, "Held out per class when --val is not given")->check(CLI::Range(0.0, 0.9));
  cls->add_flag("--multi-label", t->multi_label, "Several labels per image (sigmoid + binary cross-entropy)");
  cls->add_option("--backbone", t->backbone, "TorchScript backbone for transfer learning (default: a small CNN from scratch)");
  cls->add_option("--freeze", t->freeze, "Freeze backbone parameters up to and including this layer ('all': whole backbone)");
  cls->add_option("--imgsz", t->imgsz, "Input size: S or W H")->expected(1, 2);
  cls->add_option("--dropout", t->dropout, "Dropout before the head")->check(CLI::Range(0.0, 0.95));
  add_schedule_options(cls, *t);
  cls->add_option("--batch", t->batch, "Global batch size (split over data-parallel ranks)")->check(CLI::PositiveNumber);
  add_step_options(cls, *t);
  cls->add_option("--sampler", t->sampler, "shuffle, oversample or undersample")
      ->check(CLI::IsMember({"shuffle", "oversample", "undersample"}));
  cls->add_option("--class-weights", t->class_weights, "none or balanced")->check(CLI::IsMember({"none", "balanced"}));
  cls->add_option("--loss", t->loss, "cross_entropy or focal")->check(CLI::IsMember({"cross_entropy", "focal"}));
  cls->add_option("--adversarial", t->adversarial, "Adversarial training: none or fgsm (adversarial.method)")
      ->check(CLI::IsMember({"none", "fgsm"}));
  cls->add_option("--adv-eps", t->adv_eps, "FGSM budget, 0..1 pixel units (adversarial.eps)")->check(CLI::Range(0.0, 1.0));
  cls->add_option("--adv-ratio", t->adv_ratio, "Share of each batch made adversarial (adversarial.ratio)")
      ->check(CLI::Range(0.0, 1.0));
  cls->add_option("--seed", t->seed, "Seed (split, init, order, augmentation)")->check(CLI::NonNegativeNumber);
  add_run_options(cls, *t);
  cls->footer(
      "\nData-parallel: set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (as torchrun/Slurm do) and start one\n"
      "process per rank; --batch is the global batch; rank 0 writes the run folder.\n"
      "\nExamples:\n"
      "  cvtool train classify --data digits/train -o runs/digits -c configs/train-digits.json --threads 1\n"
      "  cvtool train classify --data photos/ --backbone fonts/model.pt --freeze backbone.conv1 -o runs/ft --epochs 10\n"
      "  cvtool train classify --data digits/train -o runs/adv -c configs/train-digits.json --adversarial fgsm --adv-eps 0.1\n"
      "  cvtool classify digits/test -c runs/digits/classify.json --top-k 3\n");

  auto p = std::make_shared<TrainOptions>();
  CLI::App* pre = cmd->add_subcommand(
      "pretext", "Self-supervised pretraining on unlabeled images (rotation or jigsaw); exports the backbone alone");
  pre->add_option("-c,--config", p->common.config, "Train config (JSON) with a pretext section; default: configs/train-classify.json");
  pre->add_option("--set", p->common.sets, "Override a config key: key.path=value (repeatable)")->allow_extra_args(false)->take_all();
  pre->add_option("-o,--output", p->common.output_dir, "Run folder (backbone.pt, pretext.json, metrics, checkpoints)")->required();
  pre->add_option("--data", p->data, "Folder of unlabeled images, searched recursively (no class folders needed)");
  pre->add_option("--val", p->val, "Folder of validation images; default: a seeded split of --data");
  pre->add_option("--val-fraction", p->val_fraction, "Held out when --val is not given")->check(CLI::Range(0.0, 0.9));
  pre->add_option("--task", p->task, "rotation (which quarter turn) or jigsaw (which patch permutation) (pretext.task)");
  pre->add_option("--grid", p->grid, "Jigsaw: patches per side, 2..4 (pretext.grid)")->check(CLI::PositiveNumber);
  pre->add_option("--permutations", p->permutations, "Jigsaw: size of the permutation set (pretext.permutations)")
      ->check(CLI::PositiveNumber);
  pre->add_option("--backbone", p->backbone, "Start from this TorchScript backbone (default: a new small CNN)");
  pre->add_option("--imgsz", p->imgsz, "Input size: S or W H")->expected(1, 2);
  add_schedule_options(pre, *p);
  pre->add_option("--batch", p->batch, "Global batch size")->check(CLI::PositiveNumber);
  add_step_options(pre, *p);
  pre->add_option("--seed", p->seed, "Seed (split, init, order, augmentation, pretext labels, permutation set)")
      ->check(CLI::NonNegativeNumber);
  add_run_options(pre, *p);
  pre->footer(
      "\nThe run folder gets backbone.pt (features N x C), pretext.json (task, permutation set), metrics.jsonl\n"
      "and pretext_model.pt + classify.json (the pretext classifier itself).\n"
      "\nExamples:\n"
      "  cvtool train pretext --data digits/all --task rotation -c configs/train-pretext-digits.json -o runs/rot --threads 1\n"
      "  cvtool train pretext --data digits/all --task jigsaw --grid 2 -c configs/train-pretext-digits.json -o runs/jig\n"
      "  cvtool train classify --data digits/few10 --backbone runs/rot/backbone.pt -c configs/train-digits.json -o runs/ft\n");

  cmd->footer(
      "\nExamples:\n  cvtool train classify --data root/ -o runs/x\n"
      "  cvtool train pretext --data unlabeled/ --task rotation -o runs/pre\n");
  return {cmd, [t, p, cls, pre] {
            if (pre->parsed()) return run_train_pretext(*p);
            if (!cls->parsed()) throw Error(ErrorKind::Usage, "train: name what to train (classify or pretext)");
            return run_train_classify(*t);
          }};
}

}  // namespace cvtool::cli
