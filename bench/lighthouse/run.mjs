// One Lighthouse run (mobile, Lighthouse's defaults) of one page: node run.mjs URL COOKIE OUT.json
// COOKIE is "name=value" or "" for a page without sign-in. The cookie goes into the
// browser's own jar rather than an extra header: a header set on the first request is
// dropped by the page's htmx requests, whose panels would then load the sign-in page.
import { writeFileSync } from "node:fs";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, cookie, out] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  if (cookie) {
    const [name, ...value] = cookie.split("=");
    await browser.setCookie({ name, value: value.join("="), url: new URL(url).origin });
  }
  const result = await lighthouse(url, {
    output: "json", logLevel: "error", onlyCategories: ["accessibility", "performance"],
  }, undefined, page);
  writeFileSync(out, result.report);
} finally {
  await browser.close();
}
