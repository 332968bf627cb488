export declare const SHARED_WHEELS: string
export declare function localPipIndexEnv(): Record<string, string>
export declare function pipEnv(): Record<string, string>
