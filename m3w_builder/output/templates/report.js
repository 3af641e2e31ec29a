// Search, filter and pagination for each .browser section; without script every item shows.
for (const section of document.querySelectorAll("section.browser")) {
  const items = [...section.querySelectorAll(".item")];
  const search = section.querySelector(".search");
  const filter = section.querySelector(".filter");
  const pager = section.querySelector(".pager");
  const count = section.querySelector(".count");
  let page = 0;
  const matching = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const wanted = filter ? filter.value : "";
    return items.filter(item => (!wanted || item.dataset.filter === wanted)
      && words.every(word => item.dataset.search.includes(word)));
  };
  const show = () => {
    const found = matching();
    const pages = Math.max(1, Math.ceil(found.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const visible = new Set(found.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE));
    for (const item of items) item.classList.toggle("hidden", !visible.has(item));
    count.textContent = `${found.length} of ${items.length}`;
    pager.replaceChildren(...Array.from({length: pages}, (_, i) => {
      const button = document.createElement("button");
      button.textContent = String(i + 1);
      if (i === page) button.setAttribute("aria-current", "page");
      button.addEventListener("click", () => { page = i; show(); });
      return button;
    }));
  };
  search.addEventListener("input", () => { page = 0; show(); });
  if (filter) filter.addEventListener("change", () => { page = 0; show(); });
  show();
}
