"""The intake documents as a chat summary, a printable HTML page and a text file.

All three are plain functions of IntakeDocuments; the HTML page is self-contained
(inline CSS, no scripts, no external fonts or images) so it can be served from a link,
printed, or saved as it is.
"""
from __future__ import annotations

from html import escape
from typing import List, Optional

from bot.intake.documents import DEFERRED, HELD, STATUSES, TO_SUBMIT, ChecklistItem, IntakeDocuments

STATUS_HINT = {
    TO_SUBMIT: "申请时提交",
    HELD: "政府已有（电子证照库或共享数据），实名认证后免提交",
    DEFERRED: "可先受理，领证后按承诺期限补交",
}


def _days(days: int) -> str:
    return "即办" if days == 0 else f"{days}个工作日"


def _ordered_items(docs: IntakeDocuments) -> List[ChecklistItem]:
    return [i for s in (TO_SUBMIT, DEFERRED, HELD) for i in docs.checklist.by_status(s)]


def _shorten(names: List[str], limit: int = 6) -> str:
    shown = "、".join(names[:limit])
    return shown + (f"等{len(names)}项" if len(names) > limit else "")


def render_summary(docs: IntakeDocuments, link: Optional[str] = None) -> str:
    """A few lines for the chat (at most 8)."""
    notice, checklist = docs.notice, docs.checklist
    head = f"【{docs.industry_name} · 一业一证】"
    if not notice.items:
        lines = [head + "根据您的回答，暂不需要办理审批或备案事项。",
                 "如经营项目有变化，可以随时重新回答。"]
        return "\n".join(lines + ([f"详情：{link}"] if link else []))
    names = [i.name for i in notice.items]
    totals = checklist.totals
    lines = [
        head + f"根据您的回答，一张行业综合许可证涵盖{len(names)}项审批：",
        _shorten(names) + "。",
    ]
    if notice.separate_days > notice.permit_days:
        lines.append(f"承诺{_days(notice.permit_days)}办结（分别办理合计{notice.separate_days}个工作日）。")
    else:
        lines.append(f"承诺{_days(notice.permit_days)}办结。")
    material_line = (
        f"材料合并后共{checklist.merged_total}份：需提交{totals[TO_SUBMIT]}份、"
        f"免提交{totals[HELD]}份、容缺{totals[DEFERRED]}份"
    )
    if checklist.saved > 0:
        material_line += f"，比分别办理少交{checklist.saved}份"
    lines.append(material_line + "。")
    prefilled = docs.form.prefilled_count
    form_line = "申请表一表填报" + (f"，已为您预填{prefilled}项信息" if prefilled else "")
    lines.append(form_line + "；签署告知承诺书，承诺符合各项审批条件。")
    if link:
        lines.append(f"完整的告知单、申请表和材料清单（可打印、下载）：{link}")
    else:
        lines.append("完整的告知单、申请表和材料清单可打印或下载。")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC",
"Source Han Sans SC",SimSun,sans-serif;color:#222;max-width:210mm;margin:0 auto;padding:16px;
line-height:1.6;font-size:14px}
h1{font-size:22px;text-align:center;margin:8px 0 4px}
h2{font-size:18px;border-bottom:2px solid #b71c1c;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:16px 0 6px}
.sub{text-align:center;color:#555;margin:0 0 12px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f3f3;white-space:nowrap}
.num{text-align:center;white-space:nowrap}
.status{white-space:nowrap;font-weight:bold}
.s-submit{color:#b71c1c}.s-held{color:#1b5e20}.s-deferred{color:#e65100}
.prefilled{color:#1b5e20;font-size:12px}
.note{color:#555;font-size:12px}
.blank{display:inline-block;min-width:60%;border-bottom:1px solid #333;height:1.2em}
.summary{background:#fafafa;border:1px solid #ddd;padding:8px 12px}
.sign{margin-top:24px}
.sign span{display:inline-block;min-width:40%;margin-right:4%}
@media print{
  @page{size:A4;margin:15mm}
  body{padding:0;max-width:none;font-size:12pt}
  section{break-before:page;page-break-before:always}
  section:first-of-type{break-before:auto;page-break-before:auto}
  tr,li{break-inside:avoid;page-break-inside:avoid}
  .summary{border:none;padding:0}
  a{color:inherit;text-decoration:none}
  .noprint{display:none}
}
""".strip()

_STATUS_CLASS = {TO_SUBMIT: "s-submit", HELD: "s-held", DEFERRED: "s-deferred"}


def render_html(
    docs: IntakeDocuments, generated_at: Optional[str] = None, reference: Optional[str] = None,
    download_href: Optional[str] = None,
) -> str:
    """A self-contained printable page (A4) with the three documents; download_href adds a
    link to the text file (hidden when printed)."""
    e = escape
    notice, form, checklist = docs.notice, docs.form, docs.checklist
    title = f"{docs.industry_name}“一业一证”告知单、申请表和材料清单"
    out: List[str] = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    meta = [m for m in (f"编号：{reference}" if reference else "",
                        f"生成时间：{generated_at}" if generated_at else "") if m]
    if meta:
        out.append(f'<p class="sub">{e("　".join(meta))}</p>')
    if download_href:
        out.append(f'<p class="sub noprint"><a href="{e(download_href)}" download>下载文本文件</a>'
                   "　打印：使用浏览器的“打印”功能</p>")

    # -- notice ----------------------------------------------------------------
    out.append("<section><h2>一、告知单</h2>")
    if not notice.items:
        out.append("<p>根据您的回答，暂不需要办理审批或备案事项。</p>")
    else:
        out.append(
            f'<p class="summary">您申请的{e(notice.permit_name)}由{e(notice.permit_department)}'
            f"一窗受理，涵盖以下{len(notice.items)}项审批，各部门并联审批。"
            f"承诺办结时限<b>{e(_days(notice.permit_days))}</b>；"
            f"如分别办理，各事项承诺时限合计{notice.separate_days}个工作日。</p>"
        )
        out.append('<table><thead><tr><th class="num">序号</th><th>审批事项</th><th>实施部门</th>'
                   "<th>承诺时限</th><th>法定时限</th><th>适用情形</th></tr></thead><tbody>")
        for n, item in enumerate(notice.items, 1):
            out.append(
                f'<tr><td class="num">{n}</td><td>{e(item.name)}<div class="note">{e(item.code)}</div></td>'
                f"<td>{e(item.department)}</td><td>{e(item.promised_label)}</td>"
                f"<td>{e(_days(item.statutory_days))}</td>"
                f"<td>{e('、'.join(item.scenarios)) or '—'}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("<h3>告知承诺</h3><p>申请人自愿选择“一业一证”告知承诺方式，并作出如下承诺：</p><ol>")
    for text in notice.commitments:
        out.append(f"<li>{e(text)}</li>")
    out.append("</ol>")
    if notice.commitment_groups:
        out.append("<p>申请人承诺符合以下各项审批的条件：</p>")
        for group in notice.commitment_groups:
            out.append(f"<h3>{e(group.name)}</h3><ol>")
            out.extend(f"<li>{e(c)}</li>" for c in group.conditions)
            out.append("</ol>")
    out.append('<p class="sign"><span>申请人（签字、盖章）：</span><span>日期：</span></p></section>')

    # -- application form ------------------------------------------------------
    out.append(f"<section><h2>二、{e(form.title)}</h2>")
    out.append("<table><tbody>")
    for f in form.fields:
        value = e(f.value) if f.value else '<span class="blank"></span>'
        mark = ' <span class="prefilled">（已预填）</span>' if f.prefilled else ""
        note = f'<div class="note">{e(f.note)}</div>' if f.note and not f.prefilled else ""
        out.append(f"<tr><th>{e(f.label)}</th><td>{value}{mark}{note}</td></tr>")
    out.append("</tbody></table>")
    out.append("<h3>申请事项</h3>")
    if form.matters:
        out.append("<ol>" + "".join(f"<li>{e(name)}</li>" for _, name in form.matters) + "</ol>")
    else:
        out.append("<p>无</p>")
    out.append("<h3>经营情况（问答）</h3><table><thead><tr><th class=\"num\">序号</th>"
               "<th>问题</th><th>回答</th></tr></thead><tbody>")
    for n, a in enumerate(form.answers, 1):
        out.append(f'<tr><td class="num">{n}</td><td>{e(a.question)}</td><td>{e(a.answer)}</td></tr>')
    out.append("</tbody></table>")
    out.append('<p class="sign"><span>法定代表人（负责人）签字：</span><span>日期：</span></p></section>')

    # -- checklist -------------------------------------------------------------
    totals = checklist.totals
    out.append("<section><h2>三、材料清单</h2>")
    out.append(
        f'<p class="summary">合并去重后共<b>{checklist.merged_total}</b>份材料：'
        f"需提交{totals[TO_SUBMIT]}份，免提交{totals[HELD]}份，容缺{totals[DEFERRED]}份。"
        f"分别办理各项审批共需{checklist.separate_total}份（其中需自行提交{checklist.separate_to_submit}份），"
        f"“一业一证”少交<b>{checklist.saved}</b>份"
        f"（需自行提交的少{checklist.saved_to_submit}份）。"
        "行业综合许可申请表和告知承诺书即本页所列，签字后随材料一并提交。</p>"
    )
    if checklist.items:
        out.append('<table><thead><tr><th class="num">序号</th><th>材料名称</th><th>形式</th>'
                   '<th class="num">份数</th><th>状态</th><th>涉及事项</th><th>说明</th></tr></thead><tbody>')
        for n, item in enumerate(_ordered_items(docs), 1):
            extra = [] if item.required else ["视情提交"]
            if item.scenarios:
                extra.append("适用情形：" + "、".join(item.scenarios))
            notes = "；".join([*extra, *item.notes])
            out.append(
                f'<tr><td class="num">{n}</td><td>{e(item.name)}</td><td>{e(item.form)}</td>'
                f'<td class="num">{item.count}</td>'
                f'<td class="status {_STATUS_CLASS[item.status]}">{e(item.status)}</td>'
                f"<td>{e('、'.join(item.needed_by_names))}</td><td class=\"note\">{e(notes)}</td></tr>"
            )
        out.append("</tbody></table>")
        out.append("<ul>" + "".join(
            f"<li><b>{e(s)}</b>：{e(STATUS_HINT[s])}</li>" for s in STATUSES
        ) + "</ul>")
    out.append("</section></body></html>")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Markdown / plain text


def _cell(text: str) -> str:
    return (text or "").replace("|", "｜").replace("\n", " ")


def render_markdown(
    docs: IntakeDocuments, generated_at: Optional[str] = None, reference: Optional[str] = None
) -> str:
    """The three documents as a Markdown file (readable as plain text)."""
    notice, form, checklist = docs.notice, docs.form, docs.checklist
    totals = checklist.totals
    out: List[str] = [f"# {docs.industry_name}“一业一证”告知单、申请表和材料清单", ""]
    if reference:
        out.append(f"编号：{reference}  ")
    if generated_at:
        out.append(f"生成时间：{generated_at}  ")
    out += ["", "## 一、告知单", ""]
    if not notice.items:
        out.append("根据您的回答，暂不需要办理审批或备案事项。")
    else:
        out += [
            f"{notice.permit_name}由{notice.permit_department}一窗受理，涵盖以下"
            f"{len(notice.items)}项审批，承诺办结时限：{_days(notice.permit_days)}"
            f"（分别办理合计{notice.separate_days}个工作日）。",
            "",
            "| 序号 | 审批事项 | 实施部门 | 承诺时限 | 适用情形 |",
            "|---|---|---|---|---|",
        ]
        for n, item in enumerate(notice.items, 1):
            out.append(f"| {n} | {_cell(item.name)} | {_cell(item.department)} | "
                       f"{item.promised_label} | {_cell('、'.join(item.scenarios)) or '—'} |")
    out += ["", "### 告知承诺", ""]
    out += [f"{n}. {t}" for n, t in enumerate(notice.commitments, 1)]
    for group in notice.commitment_groups:
        out += ["", f"承诺符合{group.name}的条件：", ""]
        out += [f"- {c}" for c in group.conditions]
    out += ["", "申请人（签字、盖章）：__________　日期：__________", "", f"## 二、{form.title}", ""]
    out += ["| 项目 | 内容 |", "|---|---|"]
    for f in form.fields:
        value = f.value + "（已预填）" if f.prefilled else (f"（{f.note}）" if f.note else "")
        out.append(f"| {_cell(f.label)} | {_cell(value)} |")
    out += ["", "申请事项：" + ("、".join(name for _, name in form.matters) or "无"), ""]
    out += ["| 序号 | 问题 | 回答 |", "|---|---|---|"]
    out += [f"| {n} | {_cell(a.question)} | {a.answer} |" for n, a in enumerate(form.answers, 1)]
    out += ["", "法定代表人（负责人）签字：__________　日期：__________", "", "## 三、材料清单", ""]
    out.append(
        f"合并去重后共{checklist.merged_total}份：需提交{totals[TO_SUBMIT]}份，"
        f"免提交{totals[HELD]}份，容缺{totals[DEFERRED]}份；分别办理共需{checklist.separate_total}份，"
        f"少交{checklist.saved}份。"
    )
    if checklist.items:
        out += ["", "| 序号 | 材料名称 | 形式 | 份数 | 状态 | 涉及事项 | 说明 |",
                "|---|---|---|---|---|---|---|"]
        for n, item in enumerate(_ordered_items(docs), 1):
            extra = [] if item.required else ["视情提交"]
            if item.scenarios:
                extra.append("适用情形：" + "、".join(item.scenarios))
            out.append(
                f"| {n} | {_cell(item.name)} | {item.form} | {item.count} | {item.status} | "
                f"{_cell('、'.join(item.needed_by_names))} | {_cell('；'.join([*extra, *item.notes]))} |"
            )
        out += [""] + [f"- {s}：{STATUS_HINT[s]}" for s in STATUSES]
    return "\n".join(out) + "\n"
