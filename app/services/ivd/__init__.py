"""体外诊断试剂报量 services: `rules` (field and filling rules, what 提交 needs), `commands`
(report rows, 暂存, the 提交 page, uploads; each commits), `queries` (look-ups and sums),
`exports` (the summary export jobs)."""
