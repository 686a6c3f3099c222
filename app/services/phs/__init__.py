"""基本公卫 机构信息报送 services (SPEC H1–H7): `rules` (roles, the ten data items and their
checks, who may edit what and when), `commands` (保存, 删除, 新增, 机构隶属关系维护: each
commits), `queries` (rounds, reports, the hierarchy, completeness, 上报进度), `changes`
(申请修改) and `imports` (the Excel route)."""
