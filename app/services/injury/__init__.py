"""工伤定点医疗机构服务 services (SPEC W1–W8), by kind: `rules` (field checks, raising
InvalidError), `commands` (writes that commit at their end), `queries` (look-ups and
figures) and `jobs` (the scheduled 超时自动通过)."""
