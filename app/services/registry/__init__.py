"""医疗机构信息维护 services (SPEC M1–M7), by kind: `rules` (field checks and who may act;
they raise InvalidError & co. and never write), `commands` (actions that write and commit
their own transaction), `queries` (look-ups), `authorization` (the 授权文件 PDF and
授权文书上传), `document` (the PDF and QR recognition), `jobs` (入库)."""
