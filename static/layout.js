// A server's layout on the debug page: its channels grouped by category, in order, and the
// layout that moving one channel puts (PUT /chat/servers/{id}/layout).

// [{category (null: uncategorized), channels}], uncategorized first, each list in order.
export function groups(channels, categories) {
  const inOrder = (list) => list.sort((a, b) => a.position - b.position || a.name.localeCompare(b.name));
  return [
    { category: null, channels: inOrder(channels.filter((c) => !c.category_id)) },
    ...[...categories].sort((a, b) => a.position - b.position).map((category) => ({
      category, channels: inOrder(channels.filter((c) => c.category_id === category.id)) })),
  ];
}

// The channels' places as a layout (GET .../layout's shape, or layout_updated's) says.
export function place(channels, layout) {
  const byId = new Map(channels.map((c) => [c.id, c]));
  const put = (ids, categoryId) => ids.forEach((id, position) => {
    const c = byId.get(id);
    if (c) Object.assign(c, { category_id: categoryId, position });
  });
  put(layout.uncategorized, null);
  for (const category of layout.categories) put(category.channel_ids, category.id);
}

// The layout with `channelId` moved to the end of `categoryId` (null: uncategorized).
export function moved(channels, categories, version, channelId, categoryId) {
  const ids = (list) => list.map((c) => c.id).filter((id) => id !== channelId);
  const lists = groups(channels, categories).map((g) => ({ id: g.category?.id ?? null, ids: ids(g.channels) }));
  lists.find((l) => l.id === categoryId).ids.push(channelId);
  return {
    version,
    uncategorized: lists[0].ids,
    categories: lists.slice(1).map((l) => ({ id: l.id, channel_ids: l.ids })),
  };
}
