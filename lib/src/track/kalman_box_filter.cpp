#include "cvtool/track/kalman_box_filter.hpp"

#include <cmath>
#include <opencv2/core.hpp>

namespace cvtool {

namespace {

constexpr double kPositionWeight = 1.0 / 20;
constexpr double kVelocityWeight = 1.0 / 160;

cv::Matx<double, 4, 1> measure(const std::array<float, 4>& b) {
  double w = b[2] - b[0], h = b[3] - b[1];
  return {b[0] + w / 2, b[1] + h / 2, h > 0 ? w / h : 0, h};
}

cv::Matx<double, 8, 8> transition() {
  auto f = cv::Matx<double, 8, 8>::eye();
  for (int i = 0; i < 4; ++i) f(i, i + 4) = 1;  // position += velocity per frame
  return f;
}

}  // namespace

KalmanBoxFilter::KalmanBoxFilter(const std::array<float, 4>& box) {
  auto z = measure(box);
  for (int i = 0; i < 4; ++i) {
    mean_(i) = z(i);
    mean_(i + 4) = 0;
  }
  double h = z(3);
  double sd[8] = {2 * kPositionWeight * h, 2 * kPositionWeight * h, 1e-2, 2 * kPositionWeight * h,
                  10 * kVelocityWeight * h, 10 * kVelocityWeight * h, 1e-5, 10 * kVelocityWeight * h};
  cov_ = cv::Matx<double, 8, 8>::zeros();
  for (int i = 0; i < 8; ++i) cov_(i, i) = sd[i] * sd[i];
}

void KalmanBoxFilter::predict() {
  double h = mean_(3);
  double sd[8] = {kPositionWeight * h, kPositionWeight * h, 1e-2, kPositionWeight * h,
                  kVelocityWeight * h, kVelocityWeight * h, 1e-5, kVelocityWeight * h};
  auto q = cv::Matx<double, 8, 8>::zeros();
  for (int i = 0; i < 8; ++i) q(i, i) = sd[i] * sd[i];
  static const auto f = transition();
  mean_ = f * mean_;
  cov_ = f * cov_ * f.t() + q;
}

void KalmanBoxFilter::update(const std::array<float, 4>& box) {
  auto z = measure(box);
  double h = mean_(3);
  double sd[4] = {kPositionWeight * h, kPositionWeight * h, 1e-1, kPositionWeight * h};
  cv::Matx<double, 4, 8> hm = cv::Matx<double, 4, 8>::zeros();
  for (int i = 0; i < 4; ++i) hm(i, i) = 1;
  auto r = cv::Matx<double, 4, 4>::zeros();
  for (int i = 0; i < 4; ++i) r(i, i) = sd[i] * sd[i];
  cv::Matx<double, 4, 4> s = hm * cov_ * hm.t() + r;
  cv::Matx<double, 8, 4> gain = cov_ * hm.t() * s.inv(cv::DECOMP_CHOLESKY);
  mean_ = mean_ + gain * (z - hm * mean_);
  cov_ = cov_ - gain * s * gain.t();
}

void KalmanBoxFilter::apply_warp(const cv::Matx23d& m) {
  double scale = std::sqrt(std::abs(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)));
  auto t = cv::Matx<double, 8, 8>::eye();
  for (int base : {0, 4}) {  // (x, y) and (vx, vy)
    t(base, base) = m(0, 0), t(base, base + 1) = m(0, 1);
    t(base + 1, base) = m(1, 0), t(base + 1, base + 1) = m(1, 1);
  }
  t(3, 3) = t(7, 7) = scale;  // height and its velocity; the aspect ratio is unchanged
  mean_ = t * mean_;
  mean_(0) += m(0, 2);
  mean_(1) += m(1, 2);
  cov_ = t * cov_ * t.t();
}

std::array<float, 4> KalmanBoxFilter::box() const {
  double h = mean_(3), w = mean_(2) * h;
  return {float(mean_(0) - w / 2), float(mean_(1) - h / 2), float(mean_(0) + w / 2), float(mean_(1) + h / 2)};
}

}  // namespace cvtool
