#include "cvtool/track/hungarian.hpp"

#include <limits>

namespace cvtool {

namespace {

// Square-or-wide minimisation (rows <= cols): every row is assigned. Classic
// potentials formulation, 1-based internally.
std::vector<int> hungarian_rows(const std::vector<std::vector<double>>& a, int n, int m) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0), minv(m + 1);
  std::vector<int> p(m + 1, 0), way(m + 1, 0);
  std::vector<char> used(m + 1);
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      int i0 = p[j0], j1 = 0;
      double delta = inf;
      for (int j = 1; j <= m; ++j) {
        if (used[j]) continue;
        double cur = a[i0 - 1][j - 1] - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<int> row_to_col(n, -1);
  for (int j = 1; j <= m; ++j)
    if (p[j]) row_to_col[p[j] - 1] = j - 1;
  return row_to_col;
}

}  // namespace

Assignment solve_assignment(const std::vector<std::vector<double>>& cost, double max_cost) {
  const int rows = int(cost.size());
  const int cols = rows ? int(cost[0].size()) : 0;
  Assignment out{std::vector<int>(rows, -1), std::vector<int>(cols, -1)};
  if (rows == 0 || cols == 0) return out;
  // Each row may also take a private "stay unassigned" column priced at max_cost, so a
  // pair costing more than max_cost is never better than leaving both sides free.
  const double forbidden = max_cost * 2 + 1e6;
  const int m = cols + rows;
  std::vector<std::vector<double>> a(rows, std::vector<double>(m, forbidden));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c)
      if (cost[r][c] <= max_cost) a[r][c] = cost[r][c];
    a[r][cols + r] = max_cost;
  }
  std::vector<int> assigned = hungarian_rows(a, rows, m);
  for (int r = 0; r < rows; ++r) {
    int c = assigned[r];
    if (c >= 0 && c < cols && cost[r][c] <= max_cost) {
      out.row_to_col[r] = c;
      out.col_to_row[c] = r;
    }
  }
  return out;
}

}  // namespace cvtool
