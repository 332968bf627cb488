export declare function prepareWarm(world: string): string
export declare function linkTree(from: string, to: string): void
