/**
 * Markdown that staff write (the data-handling policy) rendered to HTML that is safe by construction:
 * markdown-it with `html: false`, so raw HTML in the source is escaped text, never markup; links (and linkified
 * URLs) only to http(s) and mailto — anything else (javascript:, data:, vbscript:, relative paths) stays plain text;
 * every link gets rel="noopener noreferrer"; images are off (no remote content, no tracking pixels); headings are
 * shifted one level down so the page keeps its one h1. Attributes come only from markdown-it's own renderer, so
 * no event-handler attribute can be written.
 */
import markdownIt, { type MarkdownIt } from "markdown-it";

const ALLOWED_LINK = /^(https?:\/\/|mailto:)/i;

function createRenderer(): MarkdownIt {
  const md = new markdownIt("default", { html: false, linkify: true, typographer: false, breaks: false });
  md.disable(["image"]);
  // Called with the normalized URL of every link, autolink and linkified text; false leaves the text unlinked.
  md.validateLink = (url: string) => ALLOWED_LINK.test(url.trim());

  const renderToken = md.renderer.renderToken.bind(md.renderer);
  md.renderer.rules.link_open = (tokens, idx, options) => {
    const token = tokens[idx]!;
    token.attrSet("rel", "noopener noreferrer");
    return renderToken(tokens, idx, options);
  };
  const shiftHeading: NonNullable<typeof md.renderer.rules.heading_open> = (tokens, idx, options) => {
    const token = tokens[idx]!;
    const level = Number(token.tag.slice(1));
    token.tag = `h${Math.min(6, level + 1)}`;
    return renderToken(tokens, idx, options);
  };
  md.renderer.rules.heading_open = shiftHeading;
  md.renderer.rules.heading_close = shiftHeading;
  return md;
}

let renderer: MarkdownIt | undefined;

/** HTML for `markdown` (see above); safe to insert into a page as-is. */
export function renderSafeMarkdown(markdown: string): string {
  renderer ??= createRenderer();
  return renderer.render(markdown);
}
