// The rows of a breakdown table that expands in place (components/BreakdownTable.svelte).

import type { BreakdownRow, Dimension } from './api';

/** One level of the tree: the rows of a breakdown request and its paging state. */
export interface Level {
	rows: TreeNode[];
	next: string | null;
	loading: boolean;
	error: string | null;
}

/**
 * A row of the tree. A class, so that its row of numbers stays a plain object (state does
 * not proxy class instances): only whether it is open and its level below are reactive,
 * which keeps 500 rows quick to draw.
 */
export class TreeNode {
	open = $state(false);
	children = $state<Level | null>(null);
	/** The values from the top level down to this row, joined: unique in the tree. */
	readonly id: string;
	readonly path: { dim: Dimension; value: string | null }[];
	readonly row: BreakdownRow;

	constructor(path: TreeNode['path'], row: BreakdownRow) {
		this.id = path.map((x) => (x.value === null ? '\u0001' : x.value)).join('\u0000');
		this.path = path;
		this.row = row;
	}
}
