// What the Scale view's lesson tests read from the page: the lessons' box,
// the step table's numbers, and when a lesson's steps are done.

/** The Scale view's lessons. */
export const SCALE_LESSONS = '[data-testid="scale-lessons"]';

/** The step table's rows: each cell's data-name (camel-cased) → its data-value (NaN: none yet). */
export const scaleSteps = (page) =>
  page.locator(`${SCALE_LESSONS} [data-testid="scale-steps"] tbody tr`).evaluateAll((trs) =>
    trs.map((tr) =>
      Object.fromEntries(
        [...tr.querySelectorAll('td[data-name]')].map((td) => [
          td.dataset.name.replace(/-(\w)/g, (_, c) => c.toUpperCase()),
          Number(td.dataset.value),
        ]),
      ),
    ),
  );

/** Waits until step `i` (from 0) is done and no step runs any more. */
export async function scaleStepDone(page, i, timeout) {
  await page.waitForSelector(`${SCALE_LESSONS} tr[data-step="${i}"][data-state="done"]`, { timeout });
  await page.waitForFunction((sel) => !document.querySelector(`${sel} tr[data-state="running"]`), SCALE_LESSONS);
}
