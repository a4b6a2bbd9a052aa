import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/** Screenshots `page` to `path` and asserts nothing on it reaches past the viewport's right edge, naming what does. */
export async function assertFits(page: Page, name: string, path: string): Promise<void> {
  await page.screenshot({ path, fullPage: true });
  const width = page.viewportSize()?.width;
  const { scrollWidth, innerWidth, over } = await page.evaluate(() => {
    const describe = (el: Element) => {
      const parts: string[] = [];
      for (let e: Element | null = el; e && e !== document.body; e = e.parentElement) {
        parts.unshift(e.tagName.toLowerCase() + (e.id ? `#${e.id}` : '') + Array.from(e.classList, (c) => `.${c}`).join(''));
      }
      return parts.join(' > ');
    };
    const over = Array.from(document.querySelectorAll('body *'))
      .map((el) => ({ el, right: el.getBoundingClientRect().right }))
      .filter(({ right }) => right > window.innerWidth + 1)
      .map(({ el, right }) => `${describe(el)} (right ${Math.round(right)})`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, over };
  });
  assert.deepEqual(over, [], `${name} at ${width} px: these elements overflow the viewport`);
  assert.ok(scrollWidth <= innerWidth, `${name} at ${width} px scrolls sideways (${scrollWidth} > ${innerWidth})`);
}
