export declare const CACHE: string
export declare const VENV: string
export declare const TOOLS_BIN: string
export declare const NODE24: string
export declare function createWorld(name: string): string
export declare function removeWorld(root: string | undefined): void
export declare function installTools(what?: { node24?: boolean }): void
export declare function removeTree(dir: string): void
