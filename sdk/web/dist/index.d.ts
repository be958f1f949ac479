/** Options of init. */
export interface Options {
    /** The app's SDK key (pk_...). */
    key: string;
    /** The ingestion listener's base URL, e.g. https://t.example.com. */
    endpoint: string;
    /** Events a request; 20 by default. */
    batchSize?: number;
    /** How long an event waits for its batch, in ms; 2000 by default. */
    flushInterval?: number;
    /** Attempts of a batch before it is dropped; 6 by default. */
    maxAttempts?: number;
}
/** Properties of an event: anything JSON can hold. */
export type Properties = Record<string, unknown>;
/** Starts the SDK: call it once per page, before the other functions. */
export declare function init(options: Options): void;
/** Records a custom event, such as "signup", with its properties. */
export declare function track(name: string, props?: Properties): void;
/** Records revenue: amount in currency (ISO 4217), as a "revenue" event with its properties. */
export declare function revenue(amount: number, currency: string, props?: Properties): void;
/** Says who the visitor is: the id is kept, and sent with every later event. */
export declare function identify(id: string): void;
/** Sends every waiting event now; resolves once they are delivered or given up. */
export declare function flush(): Promise<void>;
/** The device id the SDK keeps for this browser. */
export declare function device(): string;
